/* helpers.c -- process, file and fixture helpers for the tests.
 *
 * Compiled inside tests/unit.c after macvm.c (which defines _GNU_SOURCE and
 * _DEFAULT_SOURCE at its top) and <criterion/criterion.h>; do not compile it
 * alone.  Everything file-local is prefixed t_ so it cannot clash with
 * macvm.c's own static functions.
 *
 *   run_argv(argv)        spawn argv[0] (posix_spawnp, no shell) with stdin from
 *                         /dev/null; capture stdout and stderr fully; wait.
 *   run_macvm(arg, ...)   $MACVM_BIN (default ./macvm) with NULL-terminated args
 *   run_fake(arg, ...)    $MACVM_FAKE_BIN (default build/macvm-fake) likewise
 *   temp_dir()            fresh mkdtemp dir under $TMPDIR or /tmp (free the string)
 *   t_remove_tree(path)   rm -rf without a shell (nftw, depth first, no symlink follow);
 *                         named t_ because macvm.c has its own static remove_tree
 *   fixture(rel)          "tests/fixtures/" rel (free the string); tests run from
 *                         the repository root
 *   count_lines(s)        lines in s; a last line without '\n' counts too
 *   t_read_file, t_write_file, t_path_join   small file helpers
 *   t_tmp_init / t_tmp_fini / t_tmp   a per-test temp dir (see the end of this file)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct proc_result {
    int status;     /* exit code, or 128+signal; -1 if it could not be run */
    char *out;      /* stdout, NUL-terminated (never NULL) */
    size_t out_len;
    char *err;      /* stderr, NUL-terminated (never NULL) */
    size_t err_len;
};

struct t_sink {
    char *data;
    size_t len, cap;
};

static void t_oom(void)
{
    fputs("tests: out of memory\n", stderr);
    abort();
}

static void t_sink_add(struct t_sink *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *d = realloc(s->data, cap);
        if (!d)
            t_oom();
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->len, p, n);
    s->len += n;
    s->data[s->len] = 0;
}

static char *t_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (!d)
        t_oom();
    return memcpy(d, s, n);
}

/* A failed spawn still returns a usable result: status -1 and the reason in err. */
struct proc_result run_argv(const char *const argv[])
{
    struct proc_result r = {.status = -1};
    struct t_sink out = {0}, err = {0};
    t_sink_add(&out, "", 0);
    t_sink_add(&err, "", 0);
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    bool fa_ok = false;
    pid_t pid;
    int rc;

    if (pipe(po) || pipe(pe)) {
        rc = errno;
        goto fail;
    }
    if ((rc = posix_spawn_file_actions_init(&fa)))
        goto fail;
    fa_ok = true;
    if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) ||
        (rc = posix_spawn_file_actions_adddup2(&fa, po[1], 1)) ||
        (rc = posix_spawn_file_actions_adddup2(&fa, pe[1], 2)) ||
        (rc = posix_spawn_file_actions_addclose(&fa, po[0])) ||
        (rc = posix_spawn_file_actions_addclose(&fa, pe[0])) ||
        (rc = posix_spawn_file_actions_addclose(&fa, po[1])) ||
        (rc = posix_spawn_file_actions_addclose(&fa, pe[1])))
        goto fail;
    if ((rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ)))
        goto fail;
    posix_spawn_file_actions_destroy(&fa);
    fa_ok = false;
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;

    struct pollfd fds[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
    struct t_sink *sinks[2] = {&out, &err};
    int open_fds = 2;
    char buf[65536];
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                t_sink_add(sinks[i], buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1; /* poll ignores negative fds */
                open_fds--;
            }
        }
    }
    po[0] = pe[0] = -1;

    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            st = -1;
            break;
        }
    if (st == -1)
        r.status = -1;
    else if (WIFEXITED(st))
        r.status = WEXITSTATUS(st);
    else if (WIFSIGNALED(st))
        r.status = 128 + WTERMSIG(st);
    r.out = out.data;
    r.out_len = out.len;
    r.err = err.data;
    r.err_len = err.len;
    return r;

fail:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
    }
    {
        char msg[512];
        snprintf(msg, sizeof msg, "tests: cannot run %s: %s\n", argv[0], strerror(rc));
        t_sink_add(&err, msg, strlen(msg));
    }
    r.out = out.data;
    r.out_len = out.len;
    r.err = err.data;
    r.err_len = err.len;
    return r;
}

#define T_MAX_ARGS 64

static struct proc_result t_run_bin(const char *bin, const char *first, va_list ap)
{
    const char *argv[T_MAX_ARGS + 2];
    int n = 0;
    argv[n++] = bin;
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        if (n > T_MAX_ARGS) {
            fprintf(stderr, "tests: more than %d arguments\n", T_MAX_ARGS);
            abort();
        }
        argv[n++] = a;
    }
    argv[n] = NULL;
    return run_argv(argv);
}

static const char *t_env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* run_macvm("ipsw", path, "--json", NULL); run_macvm(NULL) runs it with no arguments. */
struct proc_result run_macvm(const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    struct proc_result r = t_run_bin(t_env_or("MACVM_BIN", "./macvm"), arg, ap);
    va_end(ap);
    return r;
}

struct proc_result run_fake(const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    struct proc_result r = t_run_bin(t_env_or("MACVM_FAKE_BIN", "build/macvm-fake"), arg, ap);
    va_end(ap);
    return r;
}

void proc_result_free(struct proc_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
    r->out_len = r->err_len = 0;
}

char *temp_dir(void)
{
    const char *base = t_env_or("TMPDIR", "/tmp");
    size_t n = strlen(base) + sizeof "/macvm-test.XXXXXX";
    char *path = malloc(n);
    if (!path)
        t_oom();
    snprintf(path, n, "%s/macvm-test.XXXXXX", base);
    if (!mkdtemp(path)) {
        fprintf(stderr, "tests: mkdtemp %s: %s\n", path, strerror(errno));
        abort();
    }
    return path;
}

static int t_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) && errno != ENOENT)
        fprintf(stderr, "tests: remove %s: %s\n", path, strerror(errno));
    return 0;
}

void t_remove_tree(const char *path)
{
    if (!path || !*path)
        return;
    nftw(path, t_remove_one, 32, FTW_DEPTH | FTW_PHYS);
}

char *fixture(const char *rel)
{
    static const char dir[] = "tests/fixtures/";
    size_t n = sizeof dir + strlen(rel);
    char *p = malloc(n);
    if (!p)
        t_oom();
    snprintf(p, n, "%s%s", dir, rel);
    return p;
}

int count_lines(const char *s)
{
    if (!s)
        return 0;
    int n = 0;
    const char *p = s;
    for (; *p; p++)
        if (*p == '\n')
            n++;
    if (p > s && p[-1] != '\n')
        n++;
    return n;
}

/* ---- small file helpers shared by the test files ---- */

/* Reads a whole file; aborts the test on failure.  Caller frees. */
static unsigned char *t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tests: open %s: %s\n", path, strerror(errno));
        abort();
    }
    struct t_sink s = {0};
    char buf[65536];
    size_t n;
    t_sink_add(&s, "", 0);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        t_sink_add(&s, buf, n);
    fclose(f);
    *len = s.len;
    return (unsigned char *)s.data;
}

/* Writes len bytes to path (created or truncated, 0644); 0 or an errno. */
static int t_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return errno;
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return e;
        }
        p += n;
        len -= (size_t)n;
    }
    return close(fd) ? errno : 0;
}

/* dir "/" name, freshly allocated. */
static char *t_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *p = malloc(n);
    if (!p)
        t_oom();
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* A fresh temporary directory per test, removed afterwards even when an
 * assertion fails:  Test(suite, name, .init = t_tmp_init, .fini = t_tmp_fini)
 * and use t_tmp.  (Criterion runs each test in its own process.  It does not
 * run .fini after cr_skip_test: call t_tmp_fini() yourself before skipping.) */
static char *t_tmp;

static void t_tmp_init(void)
{
    t_tmp = temp_dir();
}

static void t_tmp_fini(void)
{
    if (t_tmp) {
        t_remove_tree(t_tmp);
        free(t_tmp);
        t_tmp = NULL;
    }
}

/* ---- the test kit: running macvm with a prepared environment, bundles and logs made at run time ---- */


/* Expects two strings to be equal, showing both when they differ. */
#define tk_expect_str(got, want, what)                                                                           \
    cr_expect(strcmp((got), (want)) == 0, "%s\n  got:  %s\n  want: %s", (what), (got), (want))

/* Writes data to path or fails the test. */
static void tk_write(const char *path, const void *data, size_t len)
{
    int err = t_write_file(path, data, len);
    cr_assert_eq(err, 0, "tests: write %s: %s", path, strerror(err));
}

static void tk_write_text(const char *path, const char *text)
{
    tk_write(path, text, strlen(text));
}

static void tk_copy(const char *src, const char *dst)
{
    size_t n;
    unsigned char *d = t_read_file(src, &n);
    tk_write(dst, d, n);
    free(d);
}

/* mkdir -p base/rel; returns the path (free it). */
static char *tk_mkdirs(const char *base, const char *rel)
{
    char *path = t_path_join(base, rel);
    for (char *p = path + strlen(base) + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "tests: mkdir %s: %s", path, strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    return path;
}

/* dir/name made from tests/fixtures/bundles/configured (Config.plist with 4 CPUs,
 * 8 GiB, MAC 8a:2c:11:de:ad:01, macOS 14.5 23F79; ECID 0xa1b2c3d4e5f60718) and
 * a sparse 1 GiB Disk.img.  machine_identifier: another fixture under
 * tests/fixtures/plist to use instead, or NULL.  Returns the path (free it). */
static char *tk_make_bundle(const char *dir, const char *name, const char *machine_identifier)
{
    char *b = t_path_join(dir, name);
    cr_assert_eq(mkdir(b, 0755), 0, "tests: mkdir %s: %s", b, strerror(errno));
    static const char *const files[] = {"HardwareModel", "MachineIdentifier", "AuxiliaryStorage", "Config.plist"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char rel[128];
        if (machine_identifier && strcmp(files[i], "MachineIdentifier") == 0)
            snprintf(rel, sizeof rel, "plist/%s", machine_identifier);
        else
            snprintf(rel, sizeof rel, "bundles/configured/%s", files[i]);
        char *src = fixture(rel), *dst = t_path_join(b, files[i]);
        tk_copy(src, dst);
        free(src);
        free(dst);
    }
    char *disk = t_path_join(b, "Disk.img");
    int fd = open(disk, O_WRONLY | O_CREAT | O_EXCL, 0600);
    cr_assert(fd >= 0, "tests: create %s: %s", disk, strerror(errno));
    cr_assert_eq(ftruncate(fd, 1ll << 30), 0, "tests: ftruncate %s: %s", disk, strerror(errno));
    close(fd);
    free(disk);
    return b;
}

/* Writes dir/NAME, a stand-in for `log`: it records its pid in dir/NAME.pid and
 * its argv ($0 first, one a line) in dir/NAME.argv, prints the file feed (when
 * not NULL), then runs `tail` as given (e.g. "exec sleep 30").  Returns the path. */
static char *tk_stand_in(const char *dir, const char *name, const char *feed, const char *tail)
{
    char *path = t_path_join(dir, name);
    size_t n = 4 * strlen(path) + (feed ? strlen(feed) : 0) + strlen(tail) + 256;
    char *script = malloc(n);
    cr_assert_not_null(script);
    snprintf(script, n,
             "#!/bin/sh\n"
             "echo $$ > '%s.pid'\n"
             "printf '%%s\\n' \"$0\" \"$@\" > '%s.argv'\n"
             "%s%s%s"
             "%s\n",
             path, path, feed ? "cat '" : "", feed ? feed : "", feed ? "'\n" : "", tail);
    tk_write_text(path, script);
    cr_assert_eq(chmod(path, 0755), 0);
    free(script);
    return path;
}

/* The pid a stand-in recorded, or -1 when it never ran. */
static pid_t tk_stand_in_pid(const char *tool)
{
    char pidfile[4096];
    snprintf(pidfile, sizeof pidfile, "%s.pid", tool);
    if (access(pidfile, F_OK) != 0)
        return -1;
    size_t n;
    char *s = (char *)t_read_file(pidfile, &n);
    pid_t pid = (pid_t)atol(s);
    free(s);
    return pid;
}

static bool tk_alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

/* Runs python3 on a JSON file (ndjson: one document a line, as a list) and
 * returns what `print(EXPR)` prints for d = the document (strings as they
 * are, anything else as JSON), without the last newline.  Fails the test
 * when the file is not valid JSON in UTF-8.  Free the result. */
static char *tk_py(const char *file, bool ndjson, const char *expr)
{
    static const char code[] =
        "import json, sys\n"
        "raw = open(sys.argv[1], 'rb').read().decode('utf-8')\n"
        "d = [json.loads(l) for l in raw.splitlines() if l.strip()] if sys.argv[3] == '1' else json.loads(raw)\n"
        "r = eval(sys.argv[2])\n"
        "print(r if isinstance(r, str) else json.dumps(r, sort_keys=True))\n";
    const char *argv[] = {"python3", "-c", code, file, expr, ndjson ? "1" : "0", NULL};
    struct proc_result r = run_argv(argv);
    cr_assert_eq(r.status, 0, "python3 on %s (%s) failed: %s", file, expr, r.err);
    char *out = r.out;
    if (r.out_len && out[r.out_len - 1] == '\n')
        out[r.out_len - 1] = 0;
    free(r.err);
    return out;
}

/* Writes text into dir/name and returns the path (for tk_py on program output). */
static char *tk_save(const char *dir, const char *name, const char *text, size_t len)
{
    char *path = t_path_join(dir, name);
    tk_write(path, text, len);
    return path;
}

static int tk_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The run folders under bundle/logs (names like 2026-11-26T14-41-39), sorted;
 * returns their count and the names in *names (free each and the array). */
static size_t tk_run_names(const char *bundle, char ***names)
{
    char *logs = t_path_join(bundle, "logs");
    DIR *d = opendir(logs);
    size_t n = 0;
    *names = NULL;
    for (struct dirent *de; d && (de = readdir(d));) {
        const char *s = de->d_name;
        if (strlen(s) < 19 || s[4] != '-' || s[10] != 'T')
            continue;
        *names = realloc(*names, (n + 1) * sizeof **names);
        (*names)[n++] = t_strdup(s);
    }
    if (d)
        closedir(d);
    free(logs);
    if (n)
        qsort(*names, n, sizeof **names, tk_cmp_names);
    return n;
}

/* The newest run folder of bundle (which must have one).  Free it. */
static char *tk_newest_run(const char *bundle)
{
    char **names;
    size_t n = tk_run_names(bundle, &names);
    cr_assert(n > 0, "no run folder under %s/logs", bundle);
    char *logs = t_path_join(bundle, "logs"), *run = t_path_join(logs, names[n - 1]);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(logs);
    return run;
}

/* Counts the occurrences of needle in hay. */
static int tk_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static bool tk_file_exists(const char *dir, const char *name)
{
    char *p = t_path_join(dir, name);
    bool ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}
