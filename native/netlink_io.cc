#include "netlink_io.h"

#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "common.h"

namespace nlkit {
namespace {

using Clock = std::chrono::steady_clock;

// Coalesced sends stay below this so the acks they produce (one small skb per
// request) always fit the receive buffer before the thread drains them.
constexpr size_t kCoalesceBytes = 64 * 1024;
// Deliver to JS at least this often while a large dump streams in: JS parses
// one part while the kernel produces the next.
constexpr size_t kInboxFlushBytes = 128 << 10;
// A datagram this large is a part of a dump (the kernel fills parts up to
// 32 KiB; acks and single replies are far smaller): it is posted at once, so
// JS decodes each part while the kernel makes the next instead of starting
// after the first 128 KiB (most of a 5,000-route dump).
constexpr size_t kDumpPartBytes = 16 << 10;
// Bytes posted to the event loop but not yet delivered: past this the event
// loop is behind, so the thread stops reading (the kernel then stops
// producing dump parts) until it catches up.
constexpr size_t kMaxInflight = 256 << 10;
// The send queue keeps its capacity between batches up to this size.
constexpr size_t kKeepQueueBytes = 1 << 20;
// A request socket's thread exits after this long with nothing to do.
constexpr int kIdleMs = 2000;
// After sending, the thread looks for more requests this long before it
// sleeps (only with more than one CPU: on one CPU it would delay the caller).
// A caller awaiting requests one by one sends the next one a few microseconds
// after its reply: caught here, it costs no eventfd write and no wake-up.
// The spin adapts (SpinPolicy): it stops when it does not pay or the CPU is
// contended.
constexpr auto kSpin = std::chrono::microseconds(50);
// Spins in a row that found nothing before spinning stops until a request
// arrives soon enough after sleeping that a spin would have caught it.
constexpr int kMaxMisses = 4;
// Also none while more tasks are runnable than there are CPUs (checked every
// kLoadCheck). After the thread was preempted while spinning (another runnable thread
// wanted this CPU) it does not spin for this long: on a contended CPU a spin
// burns the time slice the event loop or the kernel work needs, and a
// sleeping thread is woken sooner than a spinning one is scheduled again.
constexpr auto kContendedBackoff = std::chrono::milliseconds(50);

// How often the spin policy looks at how many tasks are runnable.
constexpr auto kLoadCheck = std::chrono::milliseconds(20);

// CPUs this process may run on.
int UsableCpus() {
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) != 0) return 1;
  return CPU_COUNT(&cpus);
}

// NLKIT_IO_SPIN_US overrides the spin time (0 disables spinning).
std::chrono::microseconds SpinTime() {
  const char* env = getenv("NLKIT_IO_SPIN_US");
  if (env != nullptr && *env != '\0') return std::chrono::microseconds(std::max(0L, strtol(env, nullptr, 10)));
  if (UsableCpus() < 2) return std::chrono::microseconds(0);
  return kSpin;
}

// Tasks runnable on the machine right now (the "r" of /proc/loadavg's "r/t"), or -1.
int RunnableTasks() {
  int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* p = buf;
  for (int field = 0; field < 3 && p != nullptr; field++) {
    p = strchr(p, ' ');
    if (p != nullptr) p++;
  }
  return p != nullptr ? atoi(p) : -1;
}

// Involuntary context switches of the calling thread so far.
long Preemptions() {
  rusage ru{};
  if (getrusage(RUSAGE_THREAD, &ru) != 0) return 0;
  return ru.ru_nivcsw;
}

// Busy-wait hint: lets the sibling hyper-thread run, never gives the CPU away
// (sched_yield would hand a CPU-bound neighbour a whole time slice).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Read once per process: get_nprocs() reads a sysfs file, and a socket is made per handle.
int OnlineCpus() {
  static const int cpus = std::max(1, get_nprocs());
  return cpus;
}

}  // namespace

bool CpusContended() { return RunnableTasks() > OnlineCpus(); }

// The machine's online CPUs, not this process's affinity: /proc/loadavg counts
// runnable tasks machine-wide (in a small cpuset on a big busy host the
// affinity count would call every moment contended).
SpinPolicy::SpinPolicy(std::chrono::microseconds max) : max_(max), cpus_(OnlineCpus()) {}

bool SpinPolicy::ShouldSpin(Clock::time_point now) {
  if (max_.count() == 0 || misses_ >= kMaxMisses || now < backoff_until_) return false;
  if (now >= next_load_check_) {
    // More runnable tasks than CPUs (this thread and the event loop count):
    // a spin would take a CPU from one of them.
    int runnable = RunnableTasks();
    contended_ = runnable > cpus_;
    next_load_check_ = now + kLoadCheck;
  }
  return !contended_;
}

void SpinPolicy::Woken(Clock::time_point now) {
  // The request that woke the thread came within a spin's time of its going
  // to sleep: spinning would have paid.
  if (misses_ >= kMaxMisses && now - slept_at_ < max_) misses_ = 0;
}

void SpinPolicy::Spun(bool found, long preempted) {
  if (preempted > 0) backoff_until_ = Clock::now() + kContendedBackoff;
  misses_ = found ? 0 : misses_ + 1;
}

void SpinPolicy::Sleeping(Clock::time_point now) { slept_at_ = now; }

void SetBufferSize(int fd, int force_opt, int opt, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) != 0) {
    // Without CAP_NET_ADMIN the plain option still works up to net.core.*mem_max.
    setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
  }
}

void FitSendBuffer(int fd, size_t bytes, int* sndbuf) {
  // The kernel refuses a datagram larger than sndbuf minus a little overhead.
  if (bytes + 1024 <= static_cast<size_t>(*sndbuf)) return;
  int want = static_cast<int>(bytes + 64 * 1024);
  SetBufferSize(fd, SO_SNDBUFFORCE, SO_SNDBUF, want / 2);  // the kernel doubles it
  socklen_t len = sizeof *sndbuf;
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, sndbuf, &len);
}

NetlinkIo::NetlinkIo(int fd, int wake_fd, int sndbuf, bool listen)
    : listen_(listen), fd_(fd), wake_fd_(wake_fd), sndbuf_(sndbuf), spin_(SpinTime()) {}

NetlinkIo::~NetlinkIo() {
  // Normally Finalize() ran (thread joined, fds closed). Without a TSFN (the
  // constructor failed) there never was a thread.
  if (joinable_) pthread_join(thread_, nullptr);
  if (!closed_) {
    close(fd_);
    close(wake_fd_);
  }
}

int NetlinkIo::StartListening() {
  std::lock_guard<std::mutex> lock(mu_);
  int err = StartThread(&thread_, [this] { Run(); });
  if (err == 0) running_ = joinable_ = awake_ = true;
  return err;
}

int NetlinkIo::Enqueue(const uint8_t* data, size_t length, double token, bool exclusive) {
  // The eventfd is written after mu_ is released: the thread it wakes takes
  // mu_ first thing (TakeAndSend), and woken while this thread still held it,
  // it went back to sleep on the mutex and needed a second wake-up (a futex
  // wait in ~0.6 of sequential calls, issue #14). The descriptor cannot be
  // closed meanwhile: only Stop() and Finalize() set stopping_, and they run
  // on this thread (the event loop), as this does.
  bool wake = false;
  int err = EnqueueLocked(data, length, token, exclusive, &wake);
  if (wake) Wake();
  return err;
}

int NetlinkIo::EnqueueLocked(const uint8_t* data, size_t length, double token, bool exclusive, bool* wake) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || closed_) return EBADF;
  size_t offset = queue_bytes_.size();
  queue_bytes_.insert(queue_bytes_.end(), data, data + length);
  queue_.push_back(Outgoing{offset, length, token, exclusive, false});
  has_work_.store(true, std::memory_order_release);
  if (!running_) {
    // The previous thread decided to exit under mu_ and touches nothing
    // shared after that, so this join is immediate.
    if (joinable_) pthread_join(thread_, nullptr);
    joinable_ = false;
    int err = StartThread(&thread_, [this] { Run(); });
    if (err != 0) {
      queue_.pop_back();
      queue_bytes_.resize(offset);
      if (queue_.empty()) has_work_.store(false, std::memory_order_relaxed);
      return err;
    }
    running_ = joinable_ = awake_ = true;
    *wake = true;  // its first poll returns at once and finds the queue
    return 0;
  }
  if (!awake_) {
    awake_ = true;
    *wake = true;
  }
  return 0;
}

std::vector<double> NetlinkIo::Stop() {
  std::vector<double> unsent;
  bool release = false;
  bool join = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return unsent;
    stopping_ = true;
    quit_.store(true);
    unsent = UnsentLocked();
    queue_.clear();
    queue_bytes_.clear();
    if (running_) {
      Wake();
      // Outside a sendmsg the thread exits within microseconds: wait, so the
      // descriptors are closed when close() returns. Inside one (the kernel
      // may take seconds) it closes up by itself when the call returns.
      if (!in_send_.load()) {
        join = true;
        joinable_ = false;
      }
    } else if (!closed_) {
      CloseResources();
      release = !tsfn_gone_;
    }
  }
  if (join) pthread_join(thread_, nullptr);
  if (release && tsfn_ != nullptr) napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
  return unsent;
}

// In the order they go: the batch being sent, then the queue.
std::vector<double> NetlinkIo::UnsentLocked() const {
  std::vector<double> unsent;
  for (size_t i = cursor_; i < send_items_.size(); i++)
    if (!send_items_[i].cancelled) unsent.push_back(send_items_[i].token);
  for (const Outgoing& o : queue_)
    if (!o.cancelled) unsent.push_back(o.token);
  return unsent;
}

std::vector<double> NetlinkIo::Unsent() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return {};
  return UnsentLocked();
}

std::vector<double> NetlinkIo::Cancel(double first, double last, bool all) {
  std::vector<double> cancelled;
  auto in_range = [first, last](double t) { return first <= last ? t >= first && t <= last : t >= first || t <= last; };
  // Marked, not erased: the thread sends runs of items as contiguous bytes
  // and ends a run before a cancelled item (TakeAndSend).
  auto mark = [&](Outgoing& o) {
    if (o.cancelled || (!all && (o.exclusive || !in_range(o.token)))) return;
    o.cancelled = true;
    cancelled.push_back(o.token);
  };
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return cancelled;
  for (size_t i = cursor_; i < send_items_.size(); i++) mark(send_items_[i]);
  for (Outgoing& o : queue_) mark(o);
  return cancelled;
}

void NetlinkIo::Release() {
  if (holds_.fetch_sub(1) != 1) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) Wake();
}

void NetlinkIo::SetPaused(bool paused) {
  paused_.store(paused);
  if (paused) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) Wake();
}

void NetlinkIo::Delivered(size_t bytes) {
  if (bytes != 0) inflight_.fetch_sub(bytes);
  if (!throttled_.exchange(false)) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) Wake();
}

void NetlinkIo::Finalize() {
  bool join;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tsfn_gone_ = true;
    stopping_ = true;
    quit_.store(true);
    if (running_) Wake();
    join = joinable_;
    joinable_ = false;
  }
  if (join) pthread_join(thread_, nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  if (!closed_) CloseResources();
}

// Called with mu_ held, so a concurrent Wake() never writes to a closed (or
// reused) descriptor.
void NetlinkIo::CloseResources() {
  closed_ = true;
  close(fd_);
  close(wake_fd_);
}

void NetlinkIo::Wake() {
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) { /* counter saturated: already signalled */ }
}

void NetlinkIo::Post(Event* ev) {
  size_t bytes = ev->kind == kMessages ? ev->data.size() : 0;
  bool hold = Holds(ev->kind);
  inflight_.fetch_add(bytes);
  if (hold) holds_.fetch_add(1);
  // Fails only when the TSFN is closing (environment teardown): drop it.
  if (napi_call_threadsafe_function(tsfn_, ev, napi_tsfn_nonblocking) != napi_ok) {
    inflight_.fetch_sub(bytes);
    if (hold) holds_.fetch_sub(1);
    delete ev;
  }
}

void NetlinkIo::FlushInbox() {
  if (inbox_.empty()) return;
  auto* ev = new Event(kMessages);
  ev->data.swap(inbox_);
  Post(ev);
}

bool NetlinkIo::ReadBlocked() {
  if (paused_.load()) return true;
  if (inflight_.load() <= kMaxInflight) return false;
  // Announce, then re-check: Delivered() lowers inflight_ before it looks at
  // throttled_, so one of the two sides always sees the other.
  throttled_.store(true);
  if (inflight_.load() <= kMaxInflight) {
    throttled_.store(false);
    return false;
  }
  return true;
}

bool NetlinkIo::Drain(bool all) {
  for (;;) {
    if (quit_.load()) return true;
    if (!all && ReadBlocked()) {
      unread_ = true;  // read the rest before sending anything more
      return true;
    }
    ssize_t n = recv(fd_, scratch_.data(), kDatagramBytes, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        unread_ = false;
        if (overrun_) {
          // The queue is empty, so the kernel dropped replies only until now
          // (NETLINK_S_CONGESTED is cleared by the recvmsg that finds it
          // empty) and nothing was sent since the ENOBUFS (unread_ or this
          // loop held the sending): a request sent before this point whose
          // reply was not read lost it, one sent after is answered.
          overrun_ = false;
          FlushInbox();
          Post(new Event(kOverrun, ENOBUFS));
        }
        return true;
      }
      if (errno == ENOBUFS) {
        // Reported by the first recvmsg after the drop (sk_err is checked
        // before the queue), ahead of the messages queued before it: read
        // those first, then report (above). Where it was read is posted
        // now: what was read before it was queued before the loss, what
        // follows may have been queued after it (kOverrunBegan).
        if (!overrun_) {
          overrun_ = true;
          FlushInbox();
          Post(new Event(kOverrunBegan, ENOBUFS));
        }
        continue;
      }
      int err = errno;
      FlushInbox();
      Post(new Event(kFatal, err));
      return false;
    }
    if (static_cast<size_t>(n) > kDatagramBytes) {
      FlushInbox();
      Post(new Event(kFatal, EMSGSIZE));
      continue;
    }
    inbox_.insert(inbox_.end(), scratch_.data(), scratch_.data() + n);
    if (inbox_.size() >= kInboxFlushBytes || static_cast<size_t>(n) >= kDumpPartBytes) FlushInbox();
  }
}

void NetlinkIo::SendChunk(const uint8_t* data, size_t length, const Outgoing* first, const Outgoing* last) {
  FitSendBuffer(fd_, length, &sndbuf_);
  // One iovec: a coalesced chunk is contiguous in the queue, and sendmsg
  // refuses more than UIO_MAXIOV (1024) iovecs with EMSGSIZE.
  iovec iov{const_cast<uint8_t*>(data), length};
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n;
  do {
    n = sendmsg(fd_, &msg, 0);
  } while (n < 0 && errno == EINTR);
  int err = n < 0 ? errno : 0;
  // Only batches (which complete on "sent") and failed sends need an event;
  // everything else completes on its own replies.
  bool report = err != 0;
  for (const Outgoing* o = first; o != last && !report; ++o) report = o->exclusive;
  // Replies to everything in this datagram were queued during sendmsg; a
  // batch's must all be read before it is reported sent.
  Drain(report);
  if (!report) return;
  FlushInbox();
  auto* ev = new Event(err ? kSendError : kSent, err);
  for (const Outgoing* o = first; o != last; ++o) ev->tokens.push_back(o->token);
  Post(ev);
}

bool NetlinkIo::TakeAndSend() {
  Clock::time_point spin_until{};
  spin_.Woken(Clock::now());
  for (;;) {
    // While reading is blocked, sending waits too: replies that cannot be
    // read would overflow the receive buffer, and any read lets a paused
    // dump go on. So does it while a send error or an overrun is unhandled.
    bool blocked = unread_ || ReadBlocked() || holds_.load() > 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return false;
      if (blocked) {
        awake_ = false;  // resume() / Delivered() / the next Enqueue() wake us
        return true;
      }
      if (send_items_.empty()) {
        if (queue_.empty()) {
          Clock::time_point now = Clock::now();
          if (now >= spin_until) {
            spin_.Sleeping(now);
            awake_ = false;  // the next Enqueue() writes the eventfd
            return true;
          }
        } else {
          send_bytes_.swap(queue_bytes_);
          send_items_.swap(queue_);
          cursor_ = 0;
          has_work_.store(false, std::memory_order_relaxed);
        }
      }
    }
    if (send_items_.empty()) {
      // Spinning: see kSpin and SpinPolicy.
      long before = Preemptions();
      while (!has_work_.load(std::memory_order_acquire) && Clock::now() < spin_until) CpuRelax();
      spin_.Spun(has_work_.load(std::memory_order_acquire), Preemptions() - before);
      spin_until = Clock::time_point{};
      continue;
    }
    const Outgoing* items = send_items_.data();
    size_t count = send_items_.size();
    for (size_t i = cursor_; i < count;) {
      if (unread_ || ReadBlocked() || holds_.load() > 0) break;  // the rest goes out once reading resumes
      size_t j = i + 1;
      size_t length = items[i].length;
      if (!items[i].exclusive) {
        while (j < count && !items[j].exclusive && length + items[j].length <= kCoalesceBytes) length += items[j++].length;
      }
      {
        // Stop() reports items from cursor_ on as never sent.
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return false;
        if (items[i].cancelled) {
          cursor_ = ++i;
          continue;
        }
        for (size_t k = i + 1; k < j; k++) {
          if (items[k].cancelled) {
            j = k;
            length = items[k].offset - items[i].offset;
            break;
          }
        }
        cursor_ = j;
        in_send_.store(true);
      }
      // Items are appended in order, so a run of them is contiguous.
      SendChunk(send_bytes_.data() + items[i].offset, length, &items[i], &items[j]);
      in_send_.store(false);
      i = j;
    }
    FlushInbox();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cursor_ < send_items_.size()) continue;  // blocked part-way
      send_items_.clear();
      cursor_ = 0;
    }
    if (send_bytes_.capacity() > kKeepQueueBytes) std::vector<uint8_t>().swap(send_bytes_);
    else send_bytes_.clear();
    Clock::time_point now = Clock::now();
    spin_until = spin_.ShouldSpin(now) ? now + spin_.max() : Clock::time_point{};
  }
}

void NetlinkIo::Run() {
  bool failed = !scratch_.Ensure(kDatagramBytes);
  if (failed) Post(new Event(kFatal, ENOMEM));
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    int r = 0;
    int timeout = 0;
    if (!failed) {
        bool blocked = ReadBlocked();
      fds[0].events = blocked ? 0 : POLLIN;
      // Unread data left by a throttled drain: look again at once.
      timeout = unread_ && !blocked ? 0 : listen_ ? -1 : kIdleMs;
      r = poll(fds, 2, timeout);
      if (r < 0 && errno != EINTR) {
        Post(new Event(kFatal, errno));
        failed = true;
      }
    }
    if (r > 0 && (fds[1].revents & POLLIN)) {
      uint64_t v;
      if (read(wake_fd_, &v, sizeof v) < 0) { /* spurious wake-up */ }
    }
    // Read what is waiting before sending more, so replies never pile up.
    if (!failed && (unread_ || (r > 0 && (fds[0].revents & (POLLIN | POLLERR)))) && !Drain(false)) failed = true;
    if (!failed && !TakeAndSend()) break;  // stopping
    FlushInbox();
    if (failed || (r == 0 && timeout > 0 && !busy_.load() && !paused_.load())) {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) break;
      if (failed || (queue_.empty() && send_items_.empty())) {
        // Idle (or broken): exit without closing; the next Enqueue() joins
        // this thread and starts a new one. Nothing shared is touched after
        // this decision (Enqueue may be joining us while holding mu_).
        running_ = false;
        awake_ = false;
        lock.unlock();
        // A failure during an overrun's drain: JS fails every pending request on the kFatal, so that overrun is
        // moot; kept, it would hide the next thread's first ENOBUFS (no kOverrunBegan: a group's later ack would
        // vouch for a lost refusal) and post a kOverrun for nothing. (The next thread is joined first: no race.)
        overrun_ = false;
        scratch_.Release();
        std::vector<uint8_t>().swap(inbox_);
        std::vector<uint8_t>().swap(send_bytes_);
        return;
      }
    }
  }
  // Stopping: finish up and hand the TSFN back.
  FlushInbox();
  scratch_.Release();
  bool release = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
    if (!closed_) {
      CloseResources();
      release = !tsfn_gone_;
    }
  }
  if (release) napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
}

}  // namespace nlkit
