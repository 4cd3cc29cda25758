/* test_vm_common.c -- helpers shared by test_bundle.c, test_clone.c, test_run.c
 * and test_install.c.  Each of those includes this file; the guard keeps one
 * copy.  It defines no Test of its own (and needs no line in unit.c).
 *
 * Compiled inside tests/unit.c after macvm.c and helpers.c, so it uses macvm's
 * JSON reader (json_parse), plist reader (plist_read_file) and the helpers'
 * run_* / t_* functions.  Everything here is prefixed vt_ ("VM test") so it
 * cannot clash with macvm.c or another engineer's test file.
 *
 *   vt_init                                  .init: helpers' t_tmp, canonical (realpath)
 *   vt_bundle(parent, name, fixture, disk)   a bundle from tests/fixtures/bundles/FIXTURE
 *                                            with a sparse Disk.img of disk bytes
 *   vt_sparse / vt_fill                      sparse sizes and real data at offsets
 *   vt_snapshot(root)                        every entry's type, size, mode, mtime and
 *                                            content hash, sorted: equal before and
 *                                            after means nothing was written
 *   vt_same_content(a, b)                    byte equality of two (sparse) files
 *   vt_json / vt_get / vt_json_*             exact values of macvm's JSON output
 *   vt_spec_load / vt_spec_get               the fake bridge's record ($MACVM_FAKE_SPEC)
 *   vt_expect_spec_matches(spec, dry-run)    the bridge got what --dry-run showed
 *   vt_spawn / vt_wait / vt_wait_for_entry   background macvm for SIGINT / rlimit tests
 *   vt_log_tool(dir)                         a stand-in for `log stream` ($MACVM_LOG_TOOL)
 *   vt_expect_refusal(r, code, needle)       one line "macvm: ..." on stderr, that code
 *   VT_SKIP_ON_COPY_ON_WRITE()               skip where a clone copies no data
 */
#ifndef VT_COMMON_INCLUDED
#define VT_COMMON_INCLUDED

#include <dirent.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#define VT_KIB (1ull << 10)
#define VT_MIB (1ull << 20)
#define VT_GIB (1ull << 30)
#define VT_ECID "0xa1b2c3d4e5f60718"

/* The per-test temp dir (helpers' t_tmp), canonical: macvm prints bundle paths
 * resolved (realpath), so a TMPDIR through a symbolic link (macOS: /tmp ->
 * /private/tmp) must not make every path comparison fail.
 * Test(..., .init = vt_init, .fini = t_tmp_fini). */
static void vt_init(void)
{
    t_tmp_init();
    char *real = realpath(t_tmp, NULL);
    if (real) {
        free(t_tmp);
        t_tmp = real;
    }
}

/* ---- files ---- */

static bool vt_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void vt_mkdir(const char *path)
{
    cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
}

/* Creates path if needed and sets its size (holes, no data). */
static void vt_sparse(const char *path, uint64_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(ftruncate(fd, (off_t)size), 0, "ftruncate %s: %s", path, strerror(errno));
    close(fd);
}

/* Writes len bytes of real (never zero) data derived from seed at off, keeping the rest. */
static void vt_fill(const char *path, uint64_t off, uint64_t len, unsigned seed)
{
    static unsigned char buf[1 << 20];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(((i * 7u) ^ (i >> 9) ^ (seed * 131u)) | 1u);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    while (len) {
        size_t n = len < sizeof buf ? (size_t)len : sizeof buf;
        ssize_t w = pwrite(fd, buf, n, (off_t)off);
        cr_assert(w > 0, "pwrite %s: %s", path, strerror(errno));
        off += (uint64_t)w;
        len -= (uint64_t)w;
    }
    cr_assert_eq(close(fd), 0, "close %s: %s", path, strerror(errno));
}

static void vt_write_text(const char *path, const char *text)
{
    int rc = t_write_file(path, text, strlen(text));
    cr_assert_eq(rc, 0, "write %s: %s", path, strerror(rc));
}

static void vt_copy_file(const char *src, const char *dst)
{
    size_t n;
    unsigned char *d = t_read_file(src, &n);
    int rc = t_write_file(dst, d, n);
    cr_assert_eq(rc, 0, "write %s: %s", dst, strerror(rc));
    free(d);
}

static uint64_t vt_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
    return (uint64_t)st.st_size;
}

/* The bytes a file really occupies (its blocks). */
static uint64_t vt_allocated(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
    return (uint64_t)st.st_blocks * 512;
}

/* Makes a tree of folders in t_tmp deeper than VM_PATH_MAX, the bridge's
 * path fields.  Returns the deepest folder's path (free it). */
static char *vt_deep_folder(void)
{
    char *dir = xstrdup(t_tmp);
    while (strlen(dir) <= VM_PATH_MAX) {
        char *deeper = t_path_join(dir, "a-folder-name-of-sixty-characters-to-make-a-deep-tree-quick");
        cr_assert_eq(mkdir(deeper, 0755), 0, "mkdir %s: %s", deeper, strerror(errno));
        free(dir);
        dir = deeper;
    }
    return dir;
}

/* Makes parent/name from tests/fixtures/bundles/<fixture_dir> (every regular
 * file copied), plus a sparse Disk.img of disk_size bytes unless 0, and an
 * empty .macvm.lock as in a bundle macvm has used.  Returns
 * the bundle's path (free it). */
static char *vt_bundle(const char *parent, const char *name, const char *fixture_dir, uint64_t disk_size)
{
    char rel[256];
    snprintf(rel, sizeof rel, "bundles/%s", fixture_dir);
    char *src = fixture(rel);
    char *dst = t_path_join(parent, name);
    vt_mkdir(dst);
    DIR *d = opendir(src);
    cr_assert(d != NULL, "opendir %s: %s", src, strerror(errno));
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        char *s = t_path_join(src, de->d_name), *t = t_path_join(dst, de->d_name);
        struct stat st;
        if (stat(s, &st) == 0 && S_ISREG(st.st_mode))
            vt_copy_file(s, t);
        free(s);
        free(t);
    }
    closedir(d);
    if (disk_size) {
        char *disk = t_path_join(dst, "Disk.img");
        vt_sparse(disk, disk_size);
        free(disk);
    }
    char *lock = t_path_join(dst, ".macvm.lock");
    vt_write_text(lock, "");
    free(lock);
    free(src);
    return dst;
}

/* Returns the number of entries in dir (without . and ..), or -1 when it cannot be read. */
static int vt_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Returns the first entry of dir (not . or ..) whose name starts with prefix (free it), or NULL. */
static char *vt_find_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char *found = NULL;
    for (struct dirent *de; !found && (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            found = t_path_join(dir, de->d_name);
    closedir(d);
    return found;
}

/* Polls (every 0.1 ms, at most 60 s) until the hidden folder of a clone to
 * dir/name (.NAME-clone-XXXXXX/NAME) holds an entry.  Returns true then;
 * false when pid exited first (its status in *status). */
static bool vt_wait_for_clone(const char *dir, const char *name, pid_t pid, int *status, bool *signaled)
{
    char prefix[300];
    snprintf(prefix, sizeof prefix, ".%s-clone-", name);
    struct timespec tick = {0, 100 * 1000};
    for (int i = 0; i < 600000; i++) {
        char *folder = vt_find_prefix(dir, prefix);
        char *inner = folder ? t_path_join(folder, name) : NULL;
        bool copying = inner && vt_count_entries(inner) > 0;
        free(inner);
        free(folder);
        if (copying)
            return true;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            *signaled = WIFSIGNALED(st);
            *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return false;
        }
        nanosleep(&tick, NULL);
    }
    return false;
}

/* Returns true when files in dir can be cloned copy-on-write (btrfs, XFS,
 * APFS): then macvm's clone is instant, cannot be interrupted half way, and
 * writes no data that could fill the disk. */
static bool vt_cow_filesystem(const char *dir)
{
    char *a = t_path_join(dir, ".cow-probe-a"), *b = t_path_join(dir, ".cow-probe-b");
    bool cow = false;
    vt_write_text(a, "probe\n");
#if defined(__APPLE__)
    cow = clonefile(a, b, 0) == 0;
#elif defined(FICLONE)
    int in = open(a, O_RDONLY), out = open(b, O_WRONLY | O_CREAT | O_EXCL, 0644);
    cow = in >= 0 && out >= 0 && ioctl(out, FICLONE, in) == 0;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
#endif
    unlink(a);
    unlink(b);
    free(a);
    free(b);
    return cow;
}

/* Skips a test that needs a clone to copy data (in a t_tmp test). */
#define VT_SKIP_ON_COPY_ON_WRITE()                                                                                \
    do {                                                                                                           \
        if (vt_cow_filesystem(t_tmp)) {                                                                            \
            t_tmp_fini();                                                                                          \
            cr_skip_test("the temp dir is on a copy-on-write filesystem: clones copy no data there");             \
        }                                                                                                          \
    } while (0)

/* ---- content and snapshots ---- */

static uint64_t vt_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}

/* Hashes a file's bytes and where they are, reading only its data regions
 * (a 16 GiB sparse disk costs only its data).  Equal before and after means
 * the content was not changed. */
static uint64_t vt_hash_file(const char *path)
{
    static unsigned char buf[1 << 20];
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    struct stat st;
    fstat(fd, &st);
    uint64_t h = 0xcbf29ce484222325ull, size = (uint64_t)st.st_size, off = 0;
    bool seek = lseek(fd, 0, SEEK_DATA) >= 0 || errno == ENXIO;
    while (off < size) {
        uint64_t start = off, end = size;
        if (seek) {
            off_t d = lseek(fd, (off_t)off, SEEK_DATA);
            if (d < 0)
                break;   /* only a hole is left */
            off_t e = lseek(fd, d, SEEK_HOLE);
            start = (uint64_t)d;
            end = e < 0 ? size : (uint64_t)e;
        }
        h = vt_fnv(h, &start, sizeof start);
        for (off = start; off < end;) {
            size_t n = end - off < sizeof buf ? (size_t)(end - off) : sizeof buf;
            ssize_t r = pread(fd, buf, n, (off_t)off);
            cr_assert(r > 0, "pread %s: %s", path, strerror(errno));
            h = vt_fnv(h, buf, (size_t)r);
            off += (uint64_t)r;
        }
    }
    h = vt_fnv(h, &size, sizeof size);
    close(fd);
    return h;
}

/* Returns true when a and b hold the same bytes; else false with where they
 * differ in why.  Reads only where either file has data. */
static bool vt_same_content(const char *a, const char *b, char *why, size_t whysize)
{
    static unsigned char ba[1 << 20], bb[1 << 20];
    int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
    cr_assert(fa >= 0 && fb >= 0, "open %s / %s: %s", a, b, strerror(errno));
    struct stat sa, sb;
    fstat(fa, &sa);
    fstat(fb, &sb);
    bool same = sa.st_size == sb.st_size;
    if (!same)
        snprintf(why, whysize, "sizes differ: %lld vs %lld", (long long)sa.st_size, (long long)sb.st_size);
    uint64_t size = (uint64_t)sa.st_size, off = 0;
    while (same && off < size) {
        off_t da = lseek(fa, (off_t)off, SEEK_DATA), db = lseek(fb, (off_t)off, SEEK_DATA);
        if (da < 0 && errno != ENXIO)
            da = (off_t)off;   /* no SEEK_DATA: compare everything */
        if (db < 0 && errno != ENXIO)
            db = (off_t)off;
        uint64_t s = size;
        if (da >= 0 && (uint64_t)da < s)
            s = (uint64_t)da;
        if (db >= 0 && (uint64_t)db < s)
            s = (uint64_t)db;
        if (s >= size)
            break;
        off_t ha = lseek(fa, (off_t)s, SEEK_HOLE), hb = lseek(fb, (off_t)s, SEEK_HOLE);
        uint64_t e = s;
        if (ha > 0 && (uint64_t)ha > e)
            e = (uint64_t)ha;
        if (hb > 0 && (uint64_t)hb > e)
            e = (uint64_t)hb;
        if (e <= s || e > size)
            e = size;
        for (off = s; same && off < e;) {
            size_t n = e - off < sizeof ba ? (size_t)(e - off) : sizeof ba;
            ssize_t ra = pread(fa, ba, n, (off_t)off), rb = pread(fb, bb, n, (off_t)off);
            cr_assert(ra == (ssize_t)n && rb == (ssize_t)n, "short read at %llu", (unsigned long long)off);
            if (memcmp(ba, bb, n) != 0) {
                size_t i = 0;
                while (ba[i] == bb[i])
                    i++;
                snprintf(why, whysize, "first difference at byte %llu", (unsigned long long)(off + i));
                same = false;
            }
            off += n;
        }
    }
    close(fa);
    close(fb);
    return same;
}

static char **vt_snap_lines;
static size_t vt_snap_n, vt_snap_cap, vt_snap_root_len;
static bool vt_snap_mtimes;

static int vt_snap_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    (void)ftw;
    char line[4096 + 256], target[1024] = "";
    const char *rel = path[vt_snap_root_len] ? path + vt_snap_root_len + 1 : ".";
    /* macvm's lock (.macvm.lock) is the one file a clone writes in a bundle
     * it only reads: the holder's PID.  It is left out (vt_bundle makes one,
     * as in a bundle macvm has used, so its first appearance does not change
     * the folder's mtime). */
    const char *base = strrchr(path, '/');
    if (strcmp(base ? base + 1 : path, ".macvm.lock") == 0)
        return 0;
    char type = S_ISDIR(st->st_mode) ? 'd' : S_ISREG(st->st_mode) ? 'f' : S_ISLNK(st->st_mode) ? 'l' : '?';
    uint64_t hash = 0;
    if (type == 'f' && vt_snap_mtimes)
        hash = vt_hash_file(path);
    if (type == 'l') {
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = 0;
    }
    char mtime[64] = "";
#ifdef __APPLE__
    const struct timespec *mt = &st->st_mtimespec;
#else
    const struct timespec *mt = &st->st_mtim;
#endif
    if (vt_snap_mtimes && type != 'l')
        snprintf(mtime, sizeof mtime, " mtime=%lld.%09ld", (long long)mt->tv_sec, (long)mt->tv_nsec);
    /* a directory's size depends on the filesystem's bookkeeping, not on what it holds */
    snprintf(line, sizeof line, "%s %c mode=%o size=%lld%s hash=%016llx%s%s", rel, type,
             (unsigned)(st->st_mode & 07777), type == 'd' ? 0LL : (long long)st->st_size, mtime,
             (unsigned long long)hash, *target ? " -> " : "", target);
    if (vt_snap_n == vt_snap_cap) {
        vt_snap_cap = vt_snap_cap ? vt_snap_cap * 2 : 64;
        vt_snap_lines = realloc(vt_snap_lines, vt_snap_cap * sizeof *vt_snap_lines);
        cr_assert(vt_snap_lines != NULL);
    }
    vt_snap_lines[vt_snap_n++] = t_strdup(line);
    return 0;
}

static int vt_compare_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Describes every entry under root: relative path, type, mode, size, mtime
 * (ns, when with_mtimes) and a content hash, one per line, sorted.  Free the string. */
static char *vt_snapshot_of(const char *root, bool with_mtimes)
{
    vt_snap_mtimes = with_mtimes;
    vt_snap_lines = NULL;
    vt_snap_n = vt_snap_cap = 0;
    vt_snap_root_len = strlen(root);
    cr_assert_eq(nftw(root, vt_snap_entry, 16, FTW_PHYS), 0, "cannot walk %s: %s", root, strerror(errno));
    qsort(vt_snap_lines, vt_snap_n, sizeof *vt_snap_lines, vt_compare_lines);
    struct t_sink s = {0};
    t_sink_add(&s, "", 0);
    for (size_t i = 0; i < vt_snap_n; i++) {
        t_sink_add(&s, vt_snap_lines[i], strlen(vt_snap_lines[i]));
        t_sink_add(&s, "\n", 1);
        free(vt_snap_lines[i]);
    }
    free(vt_snap_lines);
    vt_snap_lines = NULL;
    return s.data;
}

/* Everything, mtimes too: equal before and after means nothing was written. */
static char *vt_snapshot(const char *root)
{
    return vt_snapshot_of(root, true);
}

/* What a copy must reproduce: names, types, modes, sizes (no hashes: contents
 * are compared by vt_expect_copy, independent of what is allocated). */
static char *vt_tree_content(const char *root)
{
    return vt_snapshot_of(root, false);
}

/* Expects dst to hold exactly what src holds: the same entries, and every
 * regular file byte for byte. */
static void vt_expect_copy(const char *src, const char *dst)
{
    char *a = vt_tree_content(src), *b = vt_tree_content(dst);
    cr_expect_str_eq(b, a, "%s differs from %s:\n--- source:\n%s--- copy:\n%s", dst, src, a, b);
    for (char *line = a, *next; *line; line = next) {
        next = strchr(line, '\n');
        *next++ = 0;
        char *sp = strchr(line, ' ');
        if (!sp || sp[1] != 'f')
            continue;
        *sp = 0;
        char *s = t_path_join(src, line), *d = t_path_join(dst, line), why[256] = "";
        if (vt_exists(d))
            cr_expect(vt_same_content(s, d, why, sizeof why), "%s is not a copy of %s: %s", d, s, why);
        free(s);
        free(d);
    }
    free(a);
    free(b);
}

/* Asserts root is exactly as the snapshot before says. Frees before. */
static void vt_expect_unchanged(const char *root, char *before, const char *what)
{
    char *after = vt_snapshot(root);
    cr_expect_str_eq(after, before, "%s: %s was written.\n--- before:\n%s--- after:\n%s", what, root, before, after);
    free(after);
    free(before);
}

/* ---- JSON output ---- */

static struct arena vt_arena;

/* Parses macvm's JSON output (one object).  Lives until the test ends. */
static const struct plist *vt_json(const char *text)
{
    const struct plist *root = json_parse(text, strlen(text), &vt_arena, NULL);
    cr_assert(root != NULL && root->type == PLIST_DICT, "not one JSON object: %s", text);
    return root;
}

/* The text of the run.json in a run folder, to give vt_json (free it); aborts
 * the test when there is none. */
static char *vt_run_json(const char *run)
{
    char *json = t_path_join(run, "run.json");
    size_t n;
    char *text = (char *)t_read_file(json, &n);
    free(json);
    return text;
}

/* Returns the value at a dotted path ("debug_stub.port", "runs.0.name"), or NULL
 * when absent or a JSON null (whether json_parse drops nulls or keeps them as
 * null nodes). */
static const struct plist *vt_get(const struct plist *root, const char *dotted)
{
    char key[256];
    const struct plist *v = root;
    const char *p = dotted;
    while (v && *p) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        p += n;
        if (*p == '.')
            p++;
        if (v->type == PLIST_ARRAY) {
            char *end;
            unsigned long i = strtoul(key, &end, 10);
            v = *end == 0 && i < v->count ? v->items[i] : NULL;
        } else {
            v = plist_get(v, key);
        }
    }
    if (v && strcmp(plist_type_name(v->type), "null") == 0)
        return NULL;
    return v;
}

static void vt_json_str(const struct plist *root, const char *path, const char *want, const char *text)
{
    const struct plist *v = vt_get(root, path);
    cr_expect(v && v->type == PLIST_STRING, "%s: want the string \"%s\", got %s; JSON: %s", path, want,
              v ? plist_type_name(v->type) : "null/absent", text);
    if (v && v->type == PLIST_STRING)
        cr_expect_str_eq(v->string, want, "%s: \"%s\", want \"%s\"; JSON: %s", path, v->string, want, text);
}

static void vt_json_uint(const struct plist *root, const char *path, uint64_t want, const char *text)
{
    const struct plist *v = vt_get(root, path);
    cr_expect(v && v->type == PLIST_INTEGER && !v->negative, "%s: want %llu, got %s; JSON: %s", path,
              (unsigned long long)want, v ? plist_type_name(v->type) : "null/absent", text);
    if (v && v->type == PLIST_INTEGER)
        cr_expect_eq(v->magnitude, want, "%s: %llu, want %llu; JSON: %s", path, (unsigned long long)v->magnitude,
                     (unsigned long long)want, text);
}

static void vt_json_bool(const struct plist *root, const char *path, bool want, const char *text)
{
    const struct plist *v = vt_get(root, path);
    cr_expect(v && v->type == PLIST_BOOL, "%s: want %s, got %s; JSON: %s", path, want ? "true" : "false",
              v ? plist_type_name(v->type) : "null/absent", text);
    if (v && v->type == PLIST_BOOL)
        cr_expect_eq(v->boolean, want, "%s: %s, want %s; JSON: %s", path, v->boolean ? "true" : "false",
                     want ? "true" : "false", text);
}

/* Expects path to be null: null or absent in the tree, and "LEAF":null in the text. */
static void vt_json_null(const struct plist *root, const char *path, const char *text)
{
    const struct plist *v = vt_get(root, path);
    cr_expect(v == NULL || v->type == PLIST_NULL, "%s: want null, got a %s; JSON: %s", path,
              v ? plist_type_name(v->type) : "", text);
    const char *leaf = strrchr(path, '.');
    leaf = leaf ? leaf + 1 : path;
    char want[300];
    snprintf(want, sizeof want, "\"%s\":null", leaf);
    cr_expect(strstr(text, want) != NULL, "%s: no %s in the JSON: %s", path, want, text);
}

/* Expects an array of exactly these strings (NULL-terminated). */
static void vt_json_strings(const struct plist *root, const char *path, const char *const *want, const char *text)
{
    const struct plist *v = vt_get(root, path);
    size_t n = 0;
    while (want[n])
        n++;
    cr_assert(v && v->type == PLIST_ARRAY, "%s: want an array; JSON: %s", path, text);
    cr_expect_eq(v->count, n, "%s: %zu items, want %zu; JSON: %s", path, v->count, n, text);
    for (size_t i = 0; i < n && i < v->count; i++) {
        cr_expect(v->items[i]->type == PLIST_STRING && strcmp(v->items[i]->string, want[i]) == 0,
                  "%s[%zu]: want \"%s\"; JSON: %s", path, i, want[i], text);
    }
}

/* ---- what the fake bridge recorded ---- */

struct vt_spec {
    char *data;
    const char *key[128], *val[128];
    size_t n;
    int calls;
};

/* Loads the last call recorded in path.  Returns false when there is no record. */
static bool vt_spec_load(struct vt_spec *s, const char *path)
{
    *s = (struct vt_spec){0};
    if (!vt_exists(path))
        return false;
    size_t len;
    s->data = (char *)t_read_file(path, &len);
    for (char *line = s->data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = 0;
        if (strcmp(line, "call") == 0) {
            s->n = 0;   /* keep only the last record */
            s->calls++;
        }
        if (s->n < 128) {
            s->key[s->n] = line;
            s->val[s->n++] = eq + 1;
        }
    }
    return s->calls > 0;
}

static const char *vt_spec_get(const struct vt_spec *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->key[i], key) == 0)
            return s->val[i];
    cr_assert_fail("the fake bridge recorded no %s", key);
    return "";
}

static void vt_spec_free(struct vt_spec *s)
{
    free(s->data);
    *s = (struct vt_spec){0};
}

/* True when real equals dry, where dry's 'X' (mkdtemp's template) may be any letter or digit. */
static bool vt_path_like(const char *dry, const char *real)
{
    if (strlen(dry) != strlen(real))
        return false;
    for (; *dry; dry++, real++)
        if (*dry != *real && !(*dry == 'X' && isalnum((unsigned char)*real)))
            return false;
    return true;
}

static const char *vt_u(char *buf, size_t n, const struct plist *root, const char *path)
{
    const struct plist *v = vt_get(root, path);
    if (v && v->type == PLIST_INTEGER)
        snprintf(buf, n, "%llu", (unsigned long long)v->magnitude);
    else
        snprintf(buf, n, "(not a number)");
    return buf;
}

static const char *vt_b(const struct plist *root, const char *path)
{
    const struct plist *v = vt_get(root, path);
    return v && v->type == PLIST_BOOL ? (v->boolean ? "1" : "0") : "(not a bool)";
}

static const char *vt_s(const struct plist *root, const char *path)
{
    const struct plist *v = vt_get(root, path);
    return v && v->type == PLIST_STRING ? v->string : "";
}

/* Expects the fake bridge's record to hold exactly the values the dry-run JSON
 * (of the same command) showed. */
static void vt_expect_spec_matches(const struct vt_spec *s, const struct plist *dry, const char *text)
{
    static const char *paths[] = {"bundle", "source_bundle", "disk_image", "auxiliary_storage", "hardware_model",
                                  "machine_identifier", "save_file"};
    char a[64], b[64], c[64], want[256];
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        cr_expect(vt_path_like(vt_s(dry, paths[i]), vt_spec_get(s, paths[i])),
                  "%s: the bridge got \"%s\", the dry run showed \"%s\"", paths[i], vt_spec_get(s, paths[i]),
                  vt_s(dry, paths[i]));
    cr_expect_str_eq(vt_spec_get(s, "cpu_count"), vt_u(a, sizeof a, dry, "cpu_count"), "cpu_count; dry run: %s", text);
    cr_expect_str_eq(vt_spec_get(s, "memory_bytes"), vt_u(a, sizeof a, dry, "memory_bytes"), "memory_bytes; dry run: %s",
                     text);
    snprintf(want, sizeof want, "%sx%s@%s", vt_u(a, sizeof a, dry, "display.width"),
             vt_u(b, sizeof b, dry, "display.height"), vt_u(c, sizeof c, dry, "display.pixels_per_inch"));
    cr_expect_str_eq(vt_spec_get(s, "display"), want, "display; dry run: %s", text);
    cr_expect_str_eq(vt_spec_get(s, "mac_address"), vt_s(dry, "mac_address"), "mac_address; dry run: %s", text);
    static const char *modes[] = {"normal", "recovery", "dfu", "iboot-stage1", "iboot-stage2"};
    int mode = atoi(vt_spec_get(s, "start_mode"));
    cr_expect(mode >= 0 && mode < 5 && strcmp(modes[mode], vt_s(dry, "start_mode")) == 0,
              "start_mode: the bridge got %d, the dry run showed \"%s\"", mode, vt_s(dry, "start_mode"));
    cr_expect_str_eq(vt_spec_get(s, "debug_stub"), vt_b(dry, "debug_stub.enabled"), "debug_stub; dry run: %s", text);
    const struct plist *port = vt_get(dry, "debug_stub.port");
    snprintf(want, sizeof want, "%llu", port ? (unsigned long long)port->magnitude : 0ull);
    cr_expect_str_eq(vt_spec_get(s, "debug_stub_port"), want, "debug_stub_port; dry run: %s", text);
    cr_expect_str_eq(vt_spec_get(s, "debug_stub_all_interfaces"), vt_b(dry, "debug_stub.all_interfaces"),
                     "debug_stub_all_interfaces; dry run: %s", text);
    const struct plist *args = vt_get(dry, "boot_args");
    cr_expect_str_eq(vt_spec_get(s, "set_boot_args"), args ? "1" : "0", "set_boot_args; dry run: %s", text);
    cr_expect_str_eq(vt_spec_get(s, "boot_args"), args ? args->string : "", "boot_args; dry run: %s", text);
    static const char *flags[] = {"headless", "audio", "restore_saved_state", "save_on_stop", "ephemeral",
                                  "capture_log"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        cr_expect_str_eq(vt_spec_get(s, flags[i]), vt_b(dry, flags[i]), "%s; dry run: %s", flags[i], text);
    static const char *caching[] = {"automatic", "cached", "uncached"}, *sync[] = {"full", "fsync", "none"};
    int k = atoi(vt_spec_get(s, "disk_caching")), y = atoi(vt_spec_get(s, "disk_sync"));
    cr_expect(k >= 0 && k < 3 && strcmp(caching[k], vt_s(dry, "disk.caching")) == 0,
              "disk caching: the bridge got %d, the dry run showed \"%s\"", k, vt_s(dry, "disk.caching"));
    cr_expect(y >= 0 && y < 3 && strcmp(sync[y], vt_s(dry, "disk.sync")) == 0,
              "disk sync: the bridge got %d, the dry run showed \"%s\"", y, vt_s(dry, "disk.sync"));
    static const char *devices[] = {"keyboards", "pointing_devices"};
    for (size_t i = 0; i < 2; i++) {
        const struct plist *list = vt_get(dry, devices[i]);
        cr_assert(list && list->type == PLIST_ARRAY, "%s: an array in the dry run: %s", devices[i], text);
        char joined[64] = "";
        for (size_t k = 0; k < list->count; k++)
            snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s%s", k ? "," : "",
                     list->items[k]->string);
        cr_expect_str_eq(vt_spec_get(s, devices[i]), joined, "%s; dry run: %s", devices[i], text);
    }
    cr_expect_str_eq(vt_spec_get(s, "save_possible"), vt_b(dry, "save.possible"), "save.possible; dry run: %s", text);
    const struct plist *why = vt_get(dry, "save.why_not");
    cr_expect_str_eq(vt_spec_get(s, "save_why_not"), why && why->type == PLIST_STRING ? why->string : "",
                     "save.why_not; dry run: %s", text);
    unsigned long long ecid_dry = strtoull(vt_s(dry, "ecid"), NULL, 16);
    unsigned long long ecid_bridge = strtoull(vt_spec_get(s, "ecid"), NULL, 16);
    cr_expect_eq(ecid_bridge, ecid_dry, "ecid: the bridge got %llx, the dry run showed %s", ecid_bridge,
                 vt_s(dry, "ecid"));
    cr_expect_str_eq(vt_spec_get(s, "title"), vt_s(dry, "title"), "title; dry run: %s", text);
    /* Seeing inside the guest: on when the dry run shows an object, with the value it shows. */
    static const char *ports[] = {"console", "serial", "screenshot"};
    for (size_t i = 0; i < sizeof ports / sizeof *ports; i++)
        cr_expect_str_eq(vt_spec_get(s, ports[i]), vt_get(dry, ports[i]) ? "1" : "0", "%s; dry run: %s", ports[i],
                         text);
    const struct plist *panic = vt_get(dry, "panic_action");
    const char *action = panic ? vt_s(dry, "panic_action.action") : "";
    snprintf(want, sizeof want, "%d", !panic ? 0 : strcmp(action, "halt") == 0 ? 1 : 2);
    cr_expect_str_eq(vt_spec_get(s, "panic_action"), want, "panic_action; dry run: %s", text);
    cr_expect_str_eq(vt_spec_get(s, "panic_action_value"), panic ? vt_u(a, sizeof a, dry, "panic_action.value") : "0",
                     "panic_action_value; dry run: %s", text);
    const struct plist *shares = vt_get(dry, "shares");
    snprintf(want, sizeof want, "%zu", shares ? shares->count : 0);
    cr_expect_str_eq(vt_spec_get(s, "n_shares"), want, "n_shares; dry run: %s", text);
    for (size_t i = 0; shares && i < shares->count; i++) {
        char key[32], path[64];
        snprintf(key, sizeof key, "share%zu", i);
        snprintf(path, sizeof path, "shares.%zu.", i);
        char p1[80], p2[80], p3[80];
        snprintf(p1, sizeof p1, "%spath", path);
        snprintf(p2, sizeof p2, "%sname", path);
        snprintf(p3, sizeof p3, "%sread_only", path);
        snprintf(want, sizeof want, "%s|%s|%s", vt_s(dry, p1), vt_s(dry, p2), vt_b(dry, p3));
        cr_expect_str_eq(vt_spec_get(s, key), want, "%s; dry run: %s", key, text);
    }
}

/* ---- processes ---- */

/* Starts argv in the background with stdout/stderr into files, stdin from
 * /dev/null, default signal handling, and (when fsize_limit >= 0) a file-size
 * limit set in the child before exec.  Returns its pid. */
static pid_t vt_spawn(const char *const argv[], const char *out_path, const char *err_path, long long fsize_limit)
{
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGXFSZ, SIG_DFL);
        int in = open("/dev/null", O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0)
            _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        if (fsize_limit >= 0) {
            struct rlimit rl = {(rlim_t)fsize_limit, (rlim_t)fsize_limit};
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(125);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Waits for pid.  Returns its exit code, or 128+signal with *signaled set. */
static int vt_wait(pid_t pid, bool *signaled)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
    if (signaled)
        *signaled = WIFSIGNALED(st);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs argv with its output to a pipe whose reader is gone before it writes a
 * line (`macvm ... | head -1`), SIGPIPE at its default as a shell starts a
 * command.  Expects it not killed half way and exit 74: its output was lost. */
static void vt_expect_survives_a_closed_reader(const char *const argv[])
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    close(fds[0]);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    bool signaled;
    int status = vt_wait(pid, &signaled);
    cr_expect(!signaled, "%s was killed by signal %d half way", argv[1], status - 128);
    cr_expect_eq(status, EX_IOERR, "%s: exit %d, want 74 (its output was lost)", argv[1], status);
}

/* Polls (every 0.5 ms, at most 60 s) until dir exists and holds an entry.
 * Returns true then; false when pid exited first (its status in *status). */
static bool vt_wait_for_entry(const char *dir, pid_t pid, int *status, bool *signaled)
{
    struct timespec tick = {0, 500 * 1000};
    for (int i = 0; i < 120000; i++) {
        if (vt_count_entries(dir) > 0)
            return true;
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            *signaled = WIFSIGNALED(st);
            *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return false;
        }
        nanosleep(&tick, NULL);
    }
    cr_assert_fail("%s never appeared", dir);
    return false;
}

/* A stand-in for /usr/bin/log in dir: records its arguments in dir/log-args,
 * prints one ndjson event, and runs until stopped (at most 5 s).  Sets
 * MACVM_LOG_TOOL.  Returns its path (free it). */
static char *vt_log_tool(const char *dir)
{
    char *path = t_path_join(dir, "log-stand-in");
    char *args = t_path_join(dir, "log-args");
    char script[2048];
    snprintf(script, sizeof script,
             "#!/bin/sh\n"
             "printf '%%s\\n' \"$*\" > '%s'\n"
             "echo '{\"eventMessage\":\"macvm test stand-in\",\"subsystem\":\"com.apple.Virtualization\"}'\n"
             "exec sleep 5\n",
             args);
    vt_write_text(path, script);
    cr_assert_eq(chmod(path, 0755), 0, "chmod %s: %s", path, strerror(errno));
    setenv("MACVM_LOG_TOOL", path, 1);
    free(args);
    return path;
}

/* ---- results ---- */

/* Expects a refusal: exit code, nothing on stdout, one line "macvm: ..." on
 * stderr containing needle (when given). */
static void vt_expect_refusal(const struct proc_result *r, int code, const char *needle, const char *what)
{
    cr_assert_neq(r->status, -1, "%s: did not run: %s", what, r->err);
    cr_expect(r->status < 128, "%s: crashed (status %d); stderr: %s", what, r->status, r->err);
    cr_expect_eq(r->status, code, "%s: exit %d, want %d; stderr: %s", what, r->status, code, r->err);
    cr_expect_eq(count_lines(r->err), 1, "%s: stderr should be one line, got %d: %s", what, count_lines(r->err),
                 r->err);
    cr_expect(strncmp(r->err, "macvm: ", 7) == 0, "%s: stderr should start \"macvm: \": %s", what, r->err);
    if (needle)
        cr_expect(strstr(r->err, needle) != NULL, "%s: stderr should contain \"%s\": %s", what, needle, r->err);
}

/* Expects exit 0 and exactly one line of JSON on stdout; returns it parsed. */
static const struct plist *vt_expect_json_ok(const struct proc_result *r, const char *what)
{
    cr_assert_eq(r->status, 0, "%s: exit %d; stderr: %s", what, r->status, r->err);
    cr_expect_eq(count_lines(r->out), 1, "%s: want one line of JSON, got %d: %s", what, count_lines(r->out), r->out);
    return vt_json(r->out);
}

/* Host cores - 1, at least 1: Apple's sample's CPU count before any limits. */
static unsigned vt_default_cpus(unsigned min, unsigned max)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cores > 1 ? (unsigned)cores - 1 : 1;
    if (max && n > max)
        n = max;
    if (min && n < min)
        n = min;
    return n;
}

#endif /* VT_COMMON_INCLUDED */
