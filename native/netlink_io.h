// The I/O side of an async netlink socket: the queue of outgoing requests and
// the thread that sends them and reads what the kernel answers. It never
// touches JavaScript; it hands results to the event loop through a
// thread-safe function (TSFN), the one N-API object that any thread may call.
//
// Thread lifecycle (see docs/architecture.md, "Threading model"):
// - A request socket starts its thread on the first send and lets it exit
//   after kIdle without work, so idle handles cost no thread.
// - A subscription socket (listen = true) keeps its thread while open.
// - Stop() never waits: requests not yet handed to the kernel are returned
//   (the caller rejects them as never sent); a sendmsg in progress finishes on
//   the thread, which then closes the fds and releases the TSFN.
// - Finalize() runs on the event loop when the TSFN is destroyed, including
//   while the environment tears down (process exit, worker.terminate()): it
//   stops and joins the thread, so no thread outlives its environment.
//
// What the thread posts, in order:
//   kMessages  whole netlink messages, datagrams concatenated
//   kSent      the sendmsg carrying these tokens completed and every reply it
//              produced synchronously was posted (only for exclusive batches)
//   kSendError errno of a failed sendmsg and the tokens it carried
//   kOverrunBegan  ENOBUFS was read, before the messages read after it: the
//              kernel lost a reply to a request sent before this point. Which
//              one is unknown, and it need not have dropped the later ones
//              (netlink_ack sets sk_err without dropping when it cannot
//              allocate the ack), so a request answered only by a later
//              message for several (an ack group's last ack) is unknown.
//   kOverrun   ENOBUFS: the kernel dropped messages for this socket. Posted
//              once the socket's queue was read empty after the ENOBUFS, so
//              every message queued before the drop was posted before it
//              (see Drain)
//   kFatal     any other receive error: JavaScript fails every request
//              pending and cancels what is still queued (Cancel with `all`)
// After a kSendError, kOverrun or kFatal the thread sends nothing more until
// the event loop has handled that event (Release): JavaScript rejects the
// requests concerned there (for an overrun: those sent, so not in Unsent(),
// and not answered) and cancels what of them is still queued (Cancel), so a
// rejected call's queued requests never reach the kernel. Between
// kOverrunBegan and kOverrun nothing is sent either (Drain reads on).
#pragma once

#include <node_api.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "common.h"

namespace nlkit {

// Address space for one received datagram. Dumps come in datagrams of at most
// 32 KiB and unicast replies are smaller, so only those pages are touched
// (the buffer is mmapped, not zero-filled).
constexpr size_t kDatagramBytes = 1 << 20;

// SO_RCVBUF/SO_SNDBUF: the FORCE variant (past net.core.*mem_max, needs
// CAP_NET_ADMIN), else the plain one.
void SetBufferSize(int fd, int force_opt, int opt, int bytes);

// Grows SO_SNDBUF so one datagram of `bytes` fits (nfnetlink batches must
// travel in one); *sndbuf is the current size and is updated.
void FitSendBuffer(int fd, size_t bytes, int* sndbuf);

// More tasks are runnable on the machine right now than it has CPUs online:
// a thread spinning would take a CPU from another one (SpinPolicy's rule; the
// event loop's bounded poll, lib/netlink/loop-poll.ts, uses it too).
bool CpusContended();

// When the I/O thread spins for the next request after a send instead of
// sleeping (netlink_io.cc, kSpin): not after kMaxMisses spins in a row found
// nothing (until a request arrives soon enough after sleeping that a spin
// would have caught it), not while more tasks are runnable than there are
// CPUs, and not for a while after a spin was preempted (the CPU is
// contended). Owned by the I/O thread.
class SpinPolicy {
 public:
  using Clock = std::chrono::steady_clock;
  explicit SpinPolicy(std::chrono::microseconds max);
  std::chrono::microseconds max() const { return max_; }
  bool ShouldSpin(Clock::time_point now);
  // A spin ended: it found a request or not; `preempted` involuntary context switches happened during it.
  void Spun(bool found, long preempted);
  // The thread goes to sleep / was woken (by a request or a reply).
  void Sleeping(Clock::time_point now);
  void Woken(Clock::time_point now);

 private:
  std::chrono::microseconds max_;
  int cpus_;
  int misses_ = 0;
  bool contended_ = false;
  Clock::time_point next_load_check_{};
  Clock::time_point slept_at_{};
  Clock::time_point backoff_until_{};
};

class NetlinkIo {
 public:
  enum EventKind { kMessages = 0, kSent = 1, kSendError = 2, kOverrun = 3, kFatal = 4, kOverrunBegan = 5 };
  // Events that hold the sending until the event loop handled them (Release).
  static bool Holds(EventKind k) { return k == kSendError || k == kOverrun || k == kFatal; }

  struct Event {
    explicit Event(EventKind k, int e = 0) : kind(k), err(e) {}
    EventKind kind;
    int err = 0;
    std::vector<uint8_t> data;
    std::vector<double> tokens;
  };

  // Owns fd and wake_fd from here on. `listen`: a subscription socket.
  NetlinkIo(int fd, int wake_fd, int sndbuf, bool listen);
  ~NetlinkIo();

  // The TSFN the thread posts through; set once, before the first send.
  void SetTsfn(napi_threadsafe_function tsfn) { tsfn_ = tsfn; }
  // Starts the receive thread of a subscription socket; 0 or errno.
  int StartListening();

  // Event loop: queues a request (the bytes are copied); 0 or an errno when
  // the thread cannot be started (EAGAIN) or the socket is stopping (EBADF).
  int Enqueue(const uint8_t* data, size_t length, double token, bool exclusive);
  // Event loop: stops for good. Returns the tokens of requests that were
  // never handed to the kernel; every other request was (or is being) sent.
  std::vector<double> Stop();
  // Event loop: drops the queued (not yet sent) non-exclusive requests whose
  // token lies in [first, last] (sequence numbers, also across the wrap from
  // 0xfffffffe to 1) and returns their tokens; a sendmsg in progress finishes.
  // `all`: every queued request, exclusive ones too (after a kFatal).
  std::vector<double> Cancel(double first, double last, bool all = false);
  // Event loop: the tokens of the queued requests not yet handed to the
  // kernel (not cancelled). While a kSendError, kOverrunBegan, kOverrun or
  // kFatal is being handled the thread sends nothing, so every other request
  // was sent before it.
  std::vector<double> Unsent();
  // Event loop: a posted kSendError or kOverrun was handled; sending resumes
  // once every such event was.
  void Release();
  // Event loop: something waits for replies (no idle exit) or nothing does.
  void SetBusy(bool busy) { busy_.store(busy, std::memory_order_relaxed); }
  // Event loop: stop or resume reading (backpressure for a slow consumer).
  void SetPaused(bool paused);
  // Event loop: a posted Messages event of `bytes` reached JavaScript.
  void Delivered(size_t bytes);
  // Event loop, from the TSFN finalizer: stop, join, close what is open.
  void Finalize();

  // Owned by the event loop while no thread runs; used for sync-mode calls.
  int fd() const { return fd_; }

 private:
  struct Outgoing {
    size_t offset;
    size_t length;
    double token;
    bool exclusive;
    bool cancelled;  // by Cancel(); read and written under mu_ only
  };

  // Enqueue() under mu_; *wake: the thread must be woken (after mu_ is released).
  int EnqueueLocked(const uint8_t* data, size_t length, double token, bool exclusive, bool* wake);
  void Run();
  bool TakeAndSend();
  void SendChunk(const uint8_t* data, size_t length, const Outgoing* first, const Outgoing* last);
  // Reads every datagram available now; `all` ignores backpressure (the
  // synchronous replies of a batch must be read before it counts as sent).
  bool Drain(bool all);
  bool ReadBlocked();
  void FlushInbox();
  void Post(Event* ev);
  void Wake();
  // Closes the fds (with mu_ held); exactly once, by whoever ends last, who
  // then also releases the TSFN unless it is already gone.
  void CloseResources();
  // With mu_ held: the tokens of the requests not yet sent (not cancelled).
  std::vector<double> UnsentLocked() const;

  const bool listen_;
  int fd_;
  int wake_fd_;
  int sndbuf_;
  napi_threadsafe_function tsfn_ = nullptr;

  std::mutex mu_;
  // Guarded by mu_.
  std::vector<uint8_t> queue_bytes_;
  std::vector<Outgoing> queue_;
  std::vector<Outgoing> send_items_;  // the batch being sent (swapped under mu_)
  size_t cursor_ = 0;                 // send_items_[cursor_..] are not sent yet
  bool awake_ = false;                // the thread will look at queue_ without a wake-up
  bool running_ = false;              // a thread is in Run() and has not decided to exit
  bool joinable_ = false;             // a thread was started and not joined yet
  bool stopping_ = false;
  bool closed_ = false;               // fds closed and TSFN released (or gone)
  bool tsfn_gone_ = false;            // finalized: never call it again
  pthread_t thread_{};

  std::atomic<bool> has_work_{false};
  std::atomic<bool> in_send_{false};  // inside SendChunk, which may take long (set under mu_)
  std::atomic<bool> quit_{false};     // stopping_, readable without mu_ (Drain stops early)
  std::atomic<bool> busy_{false};
  std::atomic<bool> paused_{false};
  std::atomic<bool> throttled_{false};
  std::atomic<size_t> inflight_{0};  // bytes posted but not yet delivered to JS
  std::atomic<int> holds_{0};        // kSendError/kOverrun/kFatal posted, not yet handled (no sending meanwhile)

  // Owned by the thread.
  bool unread_ = false;  // a throttled drain left replies in the socket
  bool overrun_ = false;  // ENOBUFS read; kOverrun is posted when the queue was read empty
  std::vector<uint8_t> send_bytes_;
  PageBuffer scratch_;
  std::vector<uint8_t> inbox_;
  SpinPolicy spin_;
};

}  // namespace nlkit
