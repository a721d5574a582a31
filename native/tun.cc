// Persistent tun/tap devices. rtnetlink cannot create them, so the addon opens
// /dev/net/tun on a thread inside the target namespace (the device is created
// in the namespace of the opener), sets it persistent and closes the fd.
#include "tun.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include "common.h"

namespace nlkit {
namespace {

// tunCreate(nsfd, name, { tap, owner, group, multiQueue, vnetHdr, noPi }) -> void
Napi::Value TunCreateJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>();
  Napi::Object o = info[2].As<Napi::Object>();
  auto flag = [&](const char* k) { return o.Has(k) && o.Get(k).ToBoolean(); };
  auto num = [&](const char* k) {
    return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().Int64Value() : -1;
  };
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = (flag("tap") ? IFF_TAP : IFF_TUN) | (flag("noPi") ? IFF_NO_PI : 0) |
                  (flag("multiQueue") ? IFF_MULTI_QUEUE : 0) | (flag("vnetHdr") ? IFF_VNET_HDR : 0);
  long owner = num("owner"), group = num("group");
  std::string syscall = "pthread_create";
  int err = RunInNetns(nsfd, [&]() -> int {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      syscall = "open(/dev/net/tun)";
      return errno;
    }
    int e = 0;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
      e = errno, syscall = "ioctl(TUNSETIFF)";
    } else if (owner >= 0 && ioctl(fd, TUNSETOWNER, owner) < 0) {
      e = errno, syscall = "ioctl(TUNSETOWNER)";
    } else if (group >= 0 && ioctl(fd, TUNSETGROUP, group) < 0) {
      e = errno, syscall = "ioctl(TUNSETGROUP)";
    } else if (ioctl(fd, TUNSETPERSIST, 1) < 0) {
      e = errno, syscall = "ioctl(TUNSETPERSIST)";
    }
    close(fd);  // a persistent device outlives its creating fd
    return e;
  });
  if (err) throw ErrnoError(env, err, syscall);
  return env.Undefined();
}

}  // namespace

void InitTun(Napi::Env env, Napi::Object exports) {
  exports.Set("tunCreate", Napi::Function::New(env, TunCreateJs));
}

}  // namespace nlkit
