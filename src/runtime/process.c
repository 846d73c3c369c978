/* SPDX-License-Identifier: MIT
 * process.c - a child process on the libuv loop. Every libuv handle of a process
 * (the process, three pipes, two timers) is initialized at spawn and closed once; the
 * struct is freed in the last close callback. The exit callback waits for three
 * events in any order: the child's exit and EOF on each piped output stream. If a
 * grandchild keeps an output pipe open after the child exited, a drain timer reads
 * what is already in the pipe, closes it and delivers the exit. The process handle is
 * closed only after libuv reaped the child, so a released child never stays a
 * zombie. */
#include "process.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define PROCESS_READ_CHUNK (64 * 1024)

/* One read buffer for every process: reads are delivered and consumed synchronously on
 * the loop thread, so nothing else holds it (saves 64 KiB per agent). */
static char shared_read_buf[PROCESS_READ_CHUNK];
/* Bytes a drain timeout still reads synchronously from a pipe before closing it. */
#define PROCESS_DRAIN_MAX (4 * 1024 * 1024)

enum stdin_state {
    STDIN_NONE = 0, /* not piped, closed, broken or the child exited */
    STDIN_OPEN,
    STDIN_CLOSING, /* shutdown queued after the pending writes */
};

struct process_output {
    uv_pipe_t pipe;
    struct sw_process *owner;
    int stream; /* 1 stdout, 2 stderr */
    int done;   /* not piped, or EOF reached */
};

struct sw_process {
    uv_loop_t *loop;
    uv_process_t handle;
    uv_pipe_t stdin_pipe;
    struct process_output out[2];
    uv_timer_t kill_timer;
    uv_timer_t drain_timer;
    uv_shutdown_t shutdown_req;
    sw_process_exit_cb exit_cb;
    sw_process_read_cb read_cb;
    void *data;
    int pid;
    int handles_open;
    int exited;         /* the child exited and was reaped */
    int exit_delivered; /* exit_cb was called (or never will be) */
    int released;       /* sw_process_close was called, or the spawn failed */
    int term_sent;
    enum stdin_state stdin_state;
    size_t stdin_queued;
    size_t max_stdin_queue;
    int64_t drain_ms;
    int64_t exit_status;
    int term_signal;
};

struct process_write {
    uv_write_t req;
    struct sw_process *owner;
    size_t len;
    char data[];
};

static void process_handle_close_cb(uv_handle_t *h)
{
    struct sw_process *p = h->data;

    p->handles_open--;
    if (p->handles_open == 0 && p->released)
        sw_free(p);
}

static void process_close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, process_handle_close_cb);
}

static void process_kill_group(struct sw_process *p, int signum)
{
    if (p->pid > 0 && kill(-p->pid, signum) < 0 && errno == ESRCH && !p->exited)
        kill(p->pid, signum); /* not yet its own group leader */
}

static void process_close_stdin_now(struct sw_process *p)
{
    p->stdin_state = STDIN_NONE;
    process_close_handle((uv_handle_t *)&p->stdin_pipe);
}

/* Delivers the exit once the child exited and both output streams ended. */
static void process_maybe_finish(struct sw_process *p)
{
    if (p->released || p->exit_delivered || !p->exited)
        return;
    if (!p->out[0].done || !p->out[1].done)
        return;
    p->exit_delivered = 1;
    uv_timer_stop(&p->kill_timer);
    uv_timer_stop(&p->drain_timer);
    if (p->exit_cb)
        p->exit_cb(p, p->exit_status, p->term_signal);
}

static void process_output_end(struct process_output *o)
{
    struct sw_process *p = o->owner;

    if (o->done)
        return;
    o->done = 1;
    process_close_handle((uv_handle_t *)&o->pipe);
    if (!p->released && p->read_cb)
        p->read_cb(p, o->stream, "", 0);
    process_maybe_finish(p);
}

static void process_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    buf->base = shared_read_buf;
    buf->len = sizeof shared_read_buf;
}

static void process_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct process_output *o = (struct process_output *)s;
    struct sw_process *p = o->owner;

    if (nread > 0) {
        if (!p->released && p->read_cb)
            p->read_cb(p, o->stream, buf->base, (size_t)nread);
        return;
    }
    if (nread < 0) /* UV_EOF, or a read error that ends the stream just the same */
        process_output_end(o);
}

/* The drain timeout: hands over what the pipe already holds, then ends the stream. */
static void process_output_drain(struct process_output *o)
{
    struct sw_process *p = o->owner;
    uv_os_fd_t fd;
    size_t total = 0;

    if (o->done)
        return;
    if (uv_fileno((uv_handle_t *)&o->pipe, &fd) == 0) {
        while (total < PROCESS_DRAIN_MAX && !p->released) {
            ssize_t n = read(fd, shared_read_buf, sizeof shared_read_buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            total += (size_t)n;
            if (p->read_cb)
                p->read_cb(p, o->stream, shared_read_buf, (size_t)n);
        }
    }
    process_output_end(o);
}

static void process_drain_timer_cb(uv_timer_t *t)
{
    struct sw_process *p = t->data;

    for (int i = 0; i < 2 && !p->released; i++)
        process_output_drain(&p->out[i]);
}

static void process_kill_timer_cb(uv_timer_t *t)
{
    struct sw_process *p = t->data;

    if (!p->exit_delivered)
        process_kill_group(p, SIGKILL);
}

static void process_exit_cb(uv_process_t *h, int64_t exit_status, int term_signal)
{
    struct sw_process *p = h->data;

    p->exited = 1;
    p->exit_status = term_signal ? -1 : exit_status;
    p->term_signal = term_signal;
    if (p->released) {
        process_close_handle((uv_handle_t *)&p->handle);
        return;
    }
    if (p->stdin_state != STDIN_NONE)
        process_close_stdin_now(p);
    if (!p->out[0].done || !p->out[1].done)
        uv_timer_start(&p->drain_timer, process_drain_timer_cb, (uint64_t)p->drain_ms, 0);
    process_maybe_finish(p);
}

static int process_spawn_error(int uv_rc)
{
    switch (uv_rc) {
    case UV_ENOENT:
    case UV_EACCES:
    case UV_ENOTDIR:
    case UV_ELOOP:
    case UV_ENAMETOOLONG:
    case UV_EPERM:
        return SW_ENOT_FOUND;
    case UV_ENOMEM:
        return SW_ENOMEM;
    case UV_EINVAL:
        return SW_EINVAL;
    default:
        return SW_EIO;
    }
}

static void process_init_handles(uv_loop_t *loop, struct sw_process *p)
{
    uv_handle_t *handles[] = {
        (uv_handle_t *)&p->stdin_pipe,  (uv_handle_t *)&p->out[0].pipe,
        (uv_handle_t *)&p->out[1].pipe, (uv_handle_t *)&p->kill_timer,
        (uv_handle_t *)&p->drain_timer,
    };

    uv_pipe_init(loop, &p->stdin_pipe, 0);
    uv_pipe_init(loop, &p->out[0].pipe, 0);
    uv_pipe_init(loop, &p->out[1].pipe, 0);
    uv_timer_init(loop, &p->kill_timer);
    uv_timer_init(loop, &p->drain_timer);
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++)
        handles[i]->data = p;
    p->handles_open = (int)(sizeof handles / sizeof handles[0]);
}

static void process_stdio(const struct sw_process_options *o, struct sw_process *p,
                          uv_stdio_container_t stdio[3])
{
    stdio[0].flags = o->pipe_stdin ? UV_CREATE_PIPE | UV_READABLE_PIPE : UV_IGNORE;
    stdio[0].data.stream = (uv_stream_t *)&p->stdin_pipe;
    stdio[1].flags = o->pipe_stdout ? UV_CREATE_PIPE | UV_WRITABLE_PIPE : UV_IGNORE;
    stdio[1].data.stream = (uv_stream_t *)&p->out[0].pipe;
    stdio[2].flags = o->pipe_stderr ? UV_CREATE_PIPE | UV_WRITABLE_PIPE : UV_IGNORE;
    stdio[2].data.stream = (uv_stream_t *)&p->out[1].pipe;
}

/* Starts reading the piped outputs; a stream that cannot be read counts as ended. */
static void process_start_reading(struct sw_process *p, const struct sw_process_options *o)
{
    int piped[2] = {o->pipe_stdout, o->pipe_stderr};

    for (int i = 0; i < 2; i++) {
        p->out[i].done = !piped[i];
        if (piped[i] &&
            uv_read_start((uv_stream_t *)&p->out[i].pipe, process_alloc_cb, process_read_cb))
            p->out[i].done = 1;
    }
}

int sw_process_spawn(uv_loop_t *loop, const struct sw_process_options *o,
                     sw_process_exit_cb exit_cb, sw_process_read_cb read_cb, void *data,
                     struct sw_process **out)
{
    uv_process_options_t opts;
    uv_stdio_container_t stdio[3];
    struct sw_process *p;
    int rc;

    *out = NULL;
    if (o == NULL || o->argv == NULL || o->argv[0] == NULL || o->argv[0][0] == '\0')
        return SW_EINVAL;
    p = sw_calloc(1, sizeof *p);
    if (p == NULL)
        return SW_ENOMEM;
    p->loop = loop;
    p->exit_cb = exit_cb;
    p->read_cb = read_cb;
    p->data = data;
    p->max_stdin_queue = SW_PROCESS_MAX_STDIN_QUEUE;
    p->drain_ms = SW_PROCESS_DRAIN_MS;
    for (int i = 0; i < 2; i++) {
        p->out[i].owner = p;
        p->out[i].stream = i + 1;
    }
    process_init_handles(loop, p);
    process_stdio(o, p, stdio);

    memset(&opts, 0, sizeof opts);
    opts.exit_cb = process_exit_cb;
    opts.file = o->argv[0];
    opts.args = (char **)o->argv;
    opts.env = (char **)o->env;
    opts.cwd = o->cwd;
    opts.flags = UV_PROCESS_DETACHED; /* setsid() in the child */
    opts.stdio_count = 3;
    opts.stdio = stdio;
    p->handle.data = p;
    p->handles_open++; /* uv_spawn initializes the handle even when it fails */
    rc = uv_spawn(loop, &p->handle, &opts);
    if (rc < 0) {
        rc = process_spawn_error(rc);
        p->exited = 1; /* nothing to reap */
        sw_process_close(p);
        return rc;
    }
    p->pid = uv_process_get_pid(&p->handle);
    p->stdin_state = o->pipe_stdin ? STDIN_OPEN : STDIN_NONE;
    process_start_reading(p, o);
    *out = p;
    return 0;
}

void sw_process_rebind(struct sw_process *p, sw_process_exit_cb exit_cb, sw_process_read_cb read_cb,
                       void *data)
{
    p->exit_cb = exit_cb;
    p->read_cb = read_cb;
    p->data = data;
}

void *sw_process_data(const struct sw_process *p)
{
    return p->data;
}

int sw_process_pid(const struct sw_process *p)
{
    return p->pid;
}

int sw_process_exited(const struct sw_process *p)
{
    return p->exited;
}

struct process_pid_search {
    int pid;
    int found;
};

static void process_walk_cb(uv_handle_t *h, void *arg)
{
    struct process_pid_search *search = arg;

    if (h->type == UV_PROCESS && !uv_is_closing(h) &&
        uv_process_get_pid((uv_process_t *)h) == search->pid)
        search->found = 1;
}

int sw_process_loop_has_pid(uv_loop_t *loop, int pid)
{
    struct process_pid_search search = {pid, 0};

    if (pid <= 0)
        return 0;
    uv_walk(loop, process_walk_cb, &search);
    return search.found;
}

void sw_process_set_max_stdin_queue(struct sw_process *p, size_t max_bytes)
{
    p->max_stdin_queue = max_bytes;
}

size_t sw_process_stdin_queued(const struct sw_process *p)
{
    return p->stdin_queued;
}

void sw_process_set_drain_ms(struct sw_process *p, int64_t drain_ms)
{
    p->drain_ms = drain_ms < 0 ? 0 : drain_ms;
}

static void process_write_cb(uv_write_t *req, int status)
{
    struct process_write *w = (struct process_write *)req;
    struct sw_process *p = w->owner;

    p->stdin_queued -= w->len;
    sw_free(w);
    if (status < 0 && status != UV_ECANCELED && p->stdin_state != STDIN_NONE)
        process_close_stdin_now(p); /* EPIPE: the child closed its stdin */
}

int sw_process_write(struct sw_process *p, const char *data, size_t len)
{
    struct process_write *w;
    uv_buf_t buf;

    if (p->released || p->stdin_state != STDIN_OPEN)
        return SW_EIO;
    if (len == 0)
        return 0;
    if (len > p->max_stdin_queue || p->stdin_queued > p->max_stdin_queue - len)
        return SW_ETOO_LARGE;
    w = sw_malloc(sizeof *w + len);
    if (w == NULL)
        return SW_ENOMEM;
    w->owner = p;
    w->len = len;
    memcpy(w->data, data, len);
    buf.base = w->data;
    buf.len = len;
    if (uv_write(&w->req, (uv_stream_t *)&p->stdin_pipe, &buf, 1, process_write_cb) < 0) {
        sw_free(w);
        process_close_stdin_now(p);
        return SW_EIO;
    }
    p->stdin_queued += len;
    return 0;
}

size_t sw_process_write_queued(const struct sw_process *p)
{
    return p->stdin_queued;
}

static void process_shutdown_cb(uv_shutdown_t *req, int status)
{
    struct sw_process *p = req->handle->data;

    process_close_handle((uv_handle_t *)&p->stdin_pipe);
}

void sw_process_close_stdin(struct sw_process *p)
{
    if (p->released || p->stdin_state != STDIN_OPEN)
        return;
    p->stdin_state = STDIN_CLOSING;
    if (uv_shutdown(&p->shutdown_req, (uv_stream_t *)&p->stdin_pipe, process_shutdown_cb) < 0)
        process_close_stdin_now(p);
}

void sw_process_signal(struct sw_process *p, int signum)
{
    if (p->released || p->exit_delivered)
        return;
    process_kill_group(p, signum);
}

void sw_process_stop(struct sw_process *p, int64_t grace_ms)
{
    if (p->released || p->exit_delivered)
        return;
    if (grace_ms <= 0) {
        uv_timer_stop(&p->kill_timer);
        process_kill_group(p, SIGKILL);
        return;
    }
    if (!p->term_sent) {
        p->term_sent = 1;
        process_kill_group(p, SIGTERM);
        process_kill_group(p, SIGCONT);
    }
    if (uv_is_active((uv_handle_t *)&p->kill_timer) &&
        uv_timer_get_due_in(&p->kill_timer) <= (uint64_t)grace_ms)
        return;
    uv_timer_start(&p->kill_timer, process_kill_timer_cb, (uint64_t)grace_ms, 0);
}

void sw_process_close(struct sw_process *p)
{
    if (p == NULL || p->released)
        return;
    p->released = 1;
    if (!p->exit_delivered)
        process_kill_group(p, SIGKILL); /* the child, or what is left of its group */
    p->stdin_state = STDIN_NONE;
    process_close_handle((uv_handle_t *)&p->stdin_pipe);
    process_close_handle((uv_handle_t *)&p->out[0].pipe);
    process_close_handle((uv_handle_t *)&p->out[1].pipe);
    process_close_handle((uv_handle_t *)&p->kill_timer);
    process_close_handle((uv_handle_t *)&p->drain_timer);
    if (p->exited) /* else process_exit_cb closes it once libuv reaped the child */
        process_close_handle((uv_handle_t *)&p->handle);
}
