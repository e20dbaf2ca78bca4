// The GEMM's own worker team: threads that spin for a short while after a
// call before they sleep (Note [Spinning team] in gemm_tmpl.h says why).
//
// One team per process, used by one call at a time: a call that finds it
// busy (another Python thread's GEMM, the GIL released) gets -1 and runs on
// OpenMP instead. Workers are started on first use and live until the
// process exits; a forked child starts with none (pthread_atfork).
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MG_PAUSE() _mm_pause()
#else
#define MG_PAUSE() ((void)0)
#endif

static struct {
    pthread_mutex_t busy; // held by the call that owns the team
    pthread_mutex_t mu;   // with cv: the sleep of idle workers
    pthread_cond_t cv;
    atomic_uint gen;      // bumped once per job
    atomic_int sleepers;  // workers in (or entering) pthread_cond_wait
    // The current job's workers in fn, plus TEAM_CLOSED once the caller has
    // finished its own share: a worker that comes later stays out, so the
    // caller never waits for one that was still asleep or off its core (its
    // items were taken by the caller meanwhile).
    atomic_int state;
    mg_team_fn fn;        // the job: fn(arg, tid) on tids 1 .. nt - 1
    void *arg;
    int nt;
    atomic_int workers; // started so far (tids 1 .. workers)
    int dead;    // a worker could not be started: never try again
} team = {.busy = PTHREAD_MUTEX_INITIALIZER,
          .mu = PTHREAD_MUTEX_INITIALIZER,
          .cv = PTHREAD_COND_INITIALIZER};

#define TEAM_CLOSED (1 << 30)

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// p: the thread's tid in the low 8 bits, above them the job generation
// current when it was started (the job it must wait for is the next one: the
// caller may bump gen before this thread first reads it).
static void *worker(void *p) {
    const int tid = (int)((uintptr_t)p & 0xff);
    unsigned seen = (unsigned)((uintptr_t)p >> 8);
    for (;;) {
        // Spin for MG_GEMM_TEAM_SPIN_S, then sleep until the next job.
        const double until = now_s() + MG_GEMM_TEAM_SPIN_S;
        for (unsigned i = 1; atomic_load(&team.gen) == seen; ++i) {
            MG_PAUSE();
            if (i % 256 != 0)
                continue;
            // Another runnable task on this core (a busy machine) gets it.
            sched_yield();
            if (now_s() > until) {
                pthread_mutex_lock(&team.mu);
                // seq_cst: either the caller sees sleepers > 0 after its
                // gen bump (and signals), or this load sees the new gen.
                atomic_fetch_add(&team.sleepers, 1);
                while (atomic_load(&team.gen) == seen)
                    pthread_cond_wait(&team.cv, &team.mu);
                atomic_fetch_sub(&team.sleepers, 1);
                pthread_mutex_unlock(&team.mu);
            }
        }
        seen = atomic_load(&team.gen);
        // Enter the job unless the caller has closed it.
        int st = atomic_load(&team.state);
        while (!(st & TEAM_CLOSED) &&
               !atomic_compare_exchange_weak(&team.state, &st, st + 1))
            ;
        if (st & TEAM_CLOSED)
            continue;
        // Read after entering: the caller changes them only once the job is
        // closed and every entered worker has left.
        if (tid < team.nt)
            team.fn(team.arg, tid);
        atomic_fetch_sub(&team.state, 1);
    }
    return NULL;
}

// After fork the child has no workers, and the locks may be held by
// threads that do not exist there.
static void after_fork_child(void) {
    pthread_mutex_init(&team.busy, NULL);
    pthread_mutex_init(&team.mu, NULL);
    pthread_cond_init(&team.cv, NULL);
    atomic_store(&team.sleepers, 0);
    atomic_store(&team.state, 0);
    team.workers = 0;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void register_atfork(void) {
    pthread_atfork(NULL, NULL, after_fork_child);
}

int mg_gemm_team_run(int nt, mg_team_fn fn, void *arg) {
    if (nt < 2 || nt > MG_GEMM_TEAM_MAX || team.dead)
        return -1;
    if (pthread_mutex_trylock(&team.busy) != 0)
        return -1;
    pthread_once(&atfork_once, register_atfork);
    while (team.workers < nt - 1) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        const uintptr_t tag = (uintptr_t)atomic_load(&team.gen) << 8 |
                              (uintptr_t)(team.workers + 1);
        const int err = pthread_create(&th, &attr, worker, (void *)tag);
        pthread_attr_destroy(&attr);
        if (err) {
            team.dead = 1;
            pthread_mutex_unlock(&team.busy);
            return -1;
        }
        ++team.workers;
    }
    team.fn = fn, team.arg = arg, team.nt = nt;
    atomic_store(&team.state, 0);
    atomic_fetch_add(&team.gen, 1);
    if (atomic_load(&team.sleepers) > 0) {
        pthread_mutex_lock(&team.mu);
        pthread_cond_broadcast(&team.cv);
        pthread_mutex_unlock(&team.mu);
    }
    fn(arg, 0);
    // Close the job, then wait for the workers in it to finish their last
    // item; one held off its core by another process may take a while, so
    // yield the core after a short spin.
    atomic_fetch_or(&team.state, TEAM_CLOSED);
    for (unsigned i = 1; atomic_load(&team.state) != TEAM_CLOSED; ++i) {
        MG_PAUSE();
        if (i % 1024 == 0)
            sched_yield();
    }
    pthread_mutex_unlock(&team.busy);
    return 0;
}

int mg_gemm_team_awake(void) {
    // sleepers first: a worker that wakes between the two loads is then
    // not counted (the caller's load check errs towards fewer threads).
    const int asleep = atomic_load(&team.sleepers);
    const int n = atomic_load(&team.workers) - asleep;
    return n > 0 ? n : 0;
}
