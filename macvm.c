/* macvm -- a minimal reference and debug harness for macOS guests on Apple Silicon.
 *
 * macvm installs macOS into a VM bundle laid out exactly as Apple's sample
 * project lays it out (Disk.img, AuxiliaryStorage, HardwareModel,
 * MachineIdentifier), boots it with the start options engineers need when a
 * guest misbehaves (Recovery, DFU, stop in iBoot, a GDB stub, NVRAM
 * boot-args), records the Virtualization and paravirtualized-graphics log of
 * every run, and writes a report ready for Apple's Feedback Assistant.
 *
 * Architecture.  This file holds everything that is not an Apple API call, in
 * portable C that builds and is tested on Linux too.  It decides every value
 * of a run and writes it into one struct vm_spec (bridge.h); bridge.m turns
 * that struct into Virtualization.framework calls and decides nothing.  Off
 * macOS the bridge functions at the end of this file answer "unavailable";
 * the tests link a fake bridge instead (tests/fake_bridge.c).
 *
 * The file tells the story of a VM first and keeps the formats it reads for
 * the appendix at the end:
 *
 *      Foundations     errors, memory, buffers, Ctrl-C; the appendix's contract
 *   1. Bundles         Apple's layout on disk, Config.plist, info, create, clone
 *   2. VM description  options -> struct vm_spec, validated; --dry-run
 *   3. Restore images  BuildManifest.plist and what it says about VMs
 *   4. Logs            unified-log capture, the PVG negotiation, run records
 *   5. Advice          Virtualization errors turned into what to do
 *   6. Reports         the Feedback report and its redaction
 *   7. Host checks     macvm doctor, doctor --probe
 *   8. Commands        one function per command: run, install, logs, feedback...
 *   9. main
 *   Appendix
 *   A. Utilities       output, JSON output, paths, files, sizes, processes
 *   B. Property lists  one tree for XML and binary plists; the XML writer
 *   C. JSON input      a small reader into the same tree (run.json, log lines)
 *   D. Zip archives    end records, Zip64, central directory, one entry
 *   E. Bridge stubs    what the bridge answers where there is no Virtualization
 *
 * To understand everything else, start reading main() (section 9), then
 * cmd_run and cmd_install (section 8), which lead to the VM description.
 */
#define _GNU_SOURCE
#define _DARWIN_C_SOURCE

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#ifdef __APPLE__
#include <libproc.h>
#include <sys/clonefile.h>
#include <sys/sysctl.h>
#else
#include <linux/fs.h>
#include <sys/prctl.h>
#endif

#include "bridge.h"

#define MACVM_VERSION "0.1.0"
#define EXIT_NOTHING_FOUND 1     /* a search found nothing */
#define EXIT_VZ_FAILED EX_SOFTWARE  /* Virtualization reported an error */
#define EXIT_INTERRUPTED 130     /* Ctrl-C, as a shell reports it */

extern char **environ;

/* ============================= Foundations ============================== */

/* An error on its way up to the command that reports it: the exit code
 * (sysexits.h) and one line saying what is wrong and, after "; ", what to do. */
struct error {
    int code;
    char text[1024];
};

/* Records an error.  Returns its exit code, so callers can `return fail(...)`. */
static int fail(struct error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct error *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    e->code = code;
    return code;
}

/* Puts "prefix: " before an error's text (the text is copied first: it cannot
 * be formatted into itself).  Returns the error's code. */
static int fail_prefix(struct error *e, const char *prefix)
{
    char text[sizeof e->text];
    memcpy(text, e->text, sizeof text);
    return fail(e, e->code, "%s: %.900s", prefix, text);
}

/* Adds what to do to the error in *e, after what is wrong.  Returns its exit code. */
static int fail_advice(struct error *e, const char *advice)
{
    char text[sizeof e->text];
    memcpy(text, e->text, sizeof text);
    return fail(e, e->code, "%.850s; %s", text, advice);
}

static void say(const char *kind, const char *subject, const char *text);

/* Prints "macvm: SUBJECT: text" on stderr, in one line.  Returns the error's exit code. */
static int report(const char *subject, const struct error *e)
{
    say("", subject, e->text);
    return e->code;
}

/* Prints a usage error for a command.  Returns EX_USAGE. */
static int usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const char *command, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char line[640];
    snprintf(line, sizeof line, "%s; see 'macvm help %s'", text, command);
    say("", command, line);
    return EX_USAGE;
}

/* Prints a warning that does not stop the command. */
static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    say("warning: ", NULL, text);
}

/* Out of memory is the one error macvm does not try to survive. */
static void *check_alloc(void *p)
{
    if (!p) {
        fputs("macvm: out of memory\n", stderr);
        exit(EX_OSERR);
    }
    return p;
}

static void *xmalloc(size_t n) { return check_alloc(malloc(n ? n : 1)); }
static void *xcalloc(size_t n, size_t m) { return check_alloc(calloc(n ? n : 1, m ? m : 1)); }
static void *xrealloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1)); }
static char *xstrdup(const char *s) { return check_alloc(strdup(s)); }

/* A string that lives to the end of its block is declared `autofree char *`:
 * the compiler frees it on every way out, so early returns cannot leak. */
#define autofree __attribute__((cleanup(free_string)))
static void free_string(char **s) { free(*s); }

/* An arena owns every node of a parsed tree, so a parser that fails half way
 * frees everything with one call and no path can leak. */
struct arena_block {
    struct arena_block *next;
    size_t used, size;
    max_align_t data[];
};
struct arena {
    struct arena_block *head;
};

/* Returns n zeroed bytes that live until arena_free. */
static void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!a->head || a->head->size - a->head->used < n) {
        size_t size = n > 65536 ? n : 65536;
        struct arena_block *b = xmalloc(sizeof *b + size);
        b->next = a->head;
        b->used = 0;
        b->size = size;
        a->head = b;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

/* Returns a NUL-terminated copy of n bytes, owned by the arena. */
static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static void arena_free(struct arena *a)
{
    while (a->head) {
        struct arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/* A growing byte buffer, always NUL-terminated. */
struct buf {
    char *data;
    size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

static void buf_puts(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        buf_add(b, small, (size_t)n);
        return;
    }
    char *big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_add(b, big, (size_t)n);
    free(big);
}

static void buf_free(struct buf *b)
{
    free(b->data);
    *b = (struct buf){0};
}

/* Ctrl-C, SIGTERM and SIGHUP (a closed terminal) never kill macvm in the
 * middle of work that leaves something behind: they set `interrupted`, and
 * the loop that polls it undoes its partial work (a clone) or skips what has
 * not begun (a VM start).  While a VM runs they become SIGINT, which the
 * bridge turns into a request that the guest stop; so a run always ends with
 * its record written and its disposable clone removed. */
static volatile sig_atomic_t interrupted, vm_running, interrupts;

static void on_interrupt(int sig)
{
    interrupted = 1;
    if (vm_running && sig != SIGINT)
        kill(getpid(), SIGINT);   /* counted when it arrives as SIGINT */
    else
        interrupts++;
}

/* The bridge asks this once it has SIGINT in hand (bridge.h). */
bool macvm_interrupted(void)
{
    return interrupted;
}

unsigned macvm_interrupts(void)
{
    return (unsigned)interrupts;
}

/* A second Ctrl-C during a download or an installation ends macvm at once, as
 * SIGINT ends a program: the user means it (bridge.h). */
bool macvm_cancel_work(unsigned nth)
{
    if (nth == 1)
        return true;
    signal(SIGINT, SIG_DFL);
    raise(SIGINT);
    return false;
}

/* Installs on_interrupt for the rest of the command.  A reader of macvm's
 * output that goes away (`| head`) makes writes fail instead of killing
 * macvm half way, which would leave a clone behind or stop a VM hard. */
static void catch_interrupts(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ========================= The appendix's contract ========================= */

/* The story below uses these types and functions; the appendix (A-E, after
 * main) defines them.  A reader can take each one on its word. */

/* A. The JSON writer: struct json and json_* below */
/* A JSON writer: compact output, keys in the order written.  Each level
 * remembers whether it needs a comma before the next member. */
#define JSON_MAX_DEPTH 300   /* above the readers' nesting limit, so what they read can be written */

struct json {
    struct buf *out;
    int depth;
    bool comma[JSON_MAX_DEPTH];
};

/* B. Property lists: one tree, read from XML, binary or JSON */
/* One tree for both plist forms.  Dates are seconds since 2001-01-01 (Apple's
 * epoch), stored as reals.  Integers keep a sign and a 64-bit magnitude, which
 * holds every value the 1- to 16-byte binary forms carry in practice. */
enum plist_type {
    PLIST_DICT, PLIST_ARRAY, PLIST_STRING, PLIST_INTEGER,
    PLIST_REAL, PLIST_BOOL, PLIST_DATA, PLIST_DATE,
    PLIST_NULL,                     /* JSON's null: never in a plist file */
};

struct plist {
    enum plist_type type;
    size_t count;                   /* members of a dict/array; bytes of string/data */
    const char **keys;              /* dict */
    struct plist **items;           /* dict values, array items */
    const char *string;             /* string (UTF-8, NUL-terminated) */
    const uint8_t *data;            /* data */
    uint64_t magnitude;             /* integer */
    bool negative;                  /* integer */
    double real;                    /* real, date */
    bool boolean;
};

#define PLIST_MAX_DEPTH 256         /* deeper nesting is an error, never a stack overflow */

/* D. Zip archives: an open archive and one of its entries */
/* Restore images are Zip64 archives of 12-23 GB.  macvm reads the end
 * records, the central directory and the one entry it needs, so inspecting an
 * image reads a few MiB at most, wherever the entry lies. */

#define ZIP_MAX_CENTRAL_DIRECTORY (64u << 20)   /* far above any restore image's */
#define ZIP_EOCD_SIZE 22
#define ZIP64_LOCATOR_SIZE 20
#define ZIP64_EOCD_SIZE 56

struct zip {
    int fd;
    uint64_t size;              /* of the file */
    uint64_t entries;           /* as the central directory counts them */
    uint64_t cd_offset, cd_size;
    uint8_t *cd;                /* the central directory, read whole */
    uint64_t bytes_read;        /* everything read from the file: the tests bound it */
};

struct zip_entry {
    const char *name;           /* not NUL-terminated: see name_len */
    size_t name_len;
    uint16_t flags, method;
    uint32_t crc;
    uint64_t compressed, uncompressed, local_offset;
};

/* Told later in the story (4. Logs, 6. Reports), needed earlier by the VM description */
static size_t bundle_runs(const char *bundle, char ***dirs);
static void free_names(char **names, size_t n);
static bool framework_version(const char *root, const char *framework, char *out, size_t size);
static void shell_quote(struct buf *b, const char *s);
static const char *run_string(const struct plist *run, const char *a, const char *b);
static void spec_json(struct json *j, const char *key, const struct vm_spec *s);   /* 2., after the checks */

/* A. Utilities: output on a terminal, JSON output, paths, files, sizes, processes */
static void text_escaped(struct buf *b, const char *s, size_t n, bool lines);
static void tell(FILE *to, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_text(struct buf *b, const char *s);
static bool is_utf8(const char *s);
static void say(const char *kind, const char *subject, const char *text);
static int flush_stdout(void);
static void buf_add_cut(struct buf *b, const char *s, size_t max);
static void json_member(struct json *j, const char *key);
static void json_open(struct json *j, const char *key, char bracket);
static void json_close(struct json *j, char bracket);
static void json_str(struct json *j, const char *key, const char *value);
static void json_int(struct json *j, const char *key, long long value);
static void json_uint(struct json *j, const char *key, unsigned long long value);
static void json_bool(struct json *j, const char *key, bool value);
static void json_null(struct json *j, const char *key);
static int print_buf(const struct buf *b);
static char *path_join(const char *dir, const char *name);
static char *path_base(const char *path);
static char *path_dir(const char *path);
static const char *home_dir(void);
static const char *file_kind(mode_t mode);
static int open_regular(const char *path, struct error *e);
static int read_file(const char *path, size_t max, char **data, size_t *len, struct error *e);
static int write_file_atomic(const char *path, const void *data, size_t len, bool overwrite,
                             struct error *e);
static bool parse_size(const char *s, uint64_t *out);
static bool parse_uint(const char *s, unsigned long long min, unsigned long long max,
                       unsigned long long *out);
static const char *human_size(char *out, size_t size, uint64_t bytes);
static int version_compare(const char *a, const char *b);
static const char *iso_time(char *out, size_t size, time_t t);
static bool is_directory(const char *path);
static int make_directories(const char *path, struct error *e);
static int remove_tree(const char *path, struct error *e);
static pid_t spawn_reader(char *const argv[], int *fd, struct error *e);
static bool on_macos(void);

/* B. Property lists: look-ups, parsing (XML or binary), the XML writer */
static const char *plist_type_name(enum plist_type t);
static const struct plist *plist_get(const struct plist *dict, const char *key);
static const struct plist *plist_dict(const struct plist *dict, const char *key);
static const char *plist_string(const struct plist *dict, const char *key);
static const char *plist_string_or_empty(const struct plist *dict, const char *key);
static bool plist_uint(const struct plist *dict, const char *key, uint64_t max, uint64_t *out);
static bool plist_bool(const struct plist *dict, const char *key, bool dflt);
static struct plist *plist_new(struct arena *a, enum plist_type type);
static void plist_append(struct arena *a, struct plist *node, const char *key, struct plist *v);
static struct plist *plist_parse_xml(const char *buf, size_t len, struct arena *a, struct error *err,
                                     const char *skip_key);
static struct plist *plist_parse(const char *buf, size_t len, struct arena *a, struct error *err);
static struct plist *plist_read_file(const char *path, size_t max, struct arena *a, struct error *err);
static void plist_write_xml(struct buf *b, const struct plist *root);
static void plist_add_string(struct arena *a, struct plist *dict, const char *key, const char *s);
static void plist_add_uint(struct arena *a, struct plist *dict, const char *key, uint64_t n);
static void plist_add_bool(struct arena *a, struct plist *dict, const char *key, bool value);

/* C. JSON input: JSON read into the plist tree, keeping only the wanted keys */
static struct plist *json_parse(const char *buf, size_t len, struct arena *a,
                                const char *const *wanted);

/* D. Zip archives: open, find an entry, extract it (bounded) */
static int zip_open(struct zip *z, const char *path, struct error *e);
static void zip_close(struct zip *z);
static int zip_find(struct zip *z, const char *name, struct zip_entry *out, bool *found,
                    struct error *e);
static int zip_extract(struct zip *z, const struct zip_entry *ent, size_t max, char **out,
                       size_t *out_len, struct error *e);

/* ============================== 1. Bundles ============================== */

/* A bundle is a directory laid out as Apple's sample project lays it out, so
 * the same VM runs in Apple's sample and in macvm.  macvm adds an optional
 * Config.plist (XML, editable with plutil) and a logs/ directory. */
#define BUNDLE_DISK "Disk.img"
#define BUNDLE_AUX "AuxiliaryStorage"
#define BUNDLE_HARDWARE_MODEL "HardwareModel"
#define BUNDLE_MACHINE_IDENTIFIER "MachineIdentifier"
#define BUNDLE_RESTORE_IMAGE "RestoreImage.ipsw"
#define BUNDLE_SAVE_FILE "SaveFile.vzvmsave"
#define BUNDLE_CONFIG "Config.plist"
#define BUNDLE_LOGS "logs"

#define DEFAULT_BUNDLE "VM.bundle"                  /* in the home directory */
#define DEFAULT_MEMORY (4ull << 30)
#define DEFAULT_DISK_SIZE (64ull << 30)
#define DEFAULT_DISPLAY_WIDTH 1920
#define DEFAULT_DISPLAY_HEIGHT 1200
#define DEFAULT_DISPLAY_PPI 80
#define SMALL_FILE_MAX (1u << 20)                   /* HardwareModel, Config.plist, run.json */

/* macvm's settings for a bundle.  `set` has a bit for each value that
 * Config.plist really holds; the others are Apple's sample's defaults. */
enum config_field {
    CONFIG_CPU = 1 << 0, CONFIG_MEMORY = 1 << 1, CONFIG_DISPLAY = 1 << 2, CONFIG_MAC = 1 << 3,
    CONFIG_INSTALL = 1 << 4, CONFIG_MIN_CPU = 1 << 5, CONFIG_MIN_MEMORY = 1 << 6,
};

struct vm_config {
    unsigned cpu_count;                 /* 0: host cores - 1, resolved per run */
    uint64_t memory_bytes;
    unsigned display_width, display_height, display_ppi;
    char mac_address[18];               /* "": NAT with an address Virtualization picks */
    char installed_from[256];           /* the IPSW's file name */
    char installed_version[32], installed_build[32];
    bool install_completed;             /* true for bundles made by Apple's sample */
    unsigned min_cpu_count;             /* what the installed OS needs, from its IPSW */
    uint64_t min_memory_bytes;
    unsigned set;                       /* enum config_field bits */
};

/* Returns the configuration of a bundle without Config.plist: Apple's sample's. */
static struct vm_config config_defaults(void)
{
    return (struct vm_config){
        .memory_bytes = DEFAULT_MEMORY,
        .display_width = DEFAULT_DISPLAY_WIDTH,
        .display_height = DEFAULT_DISPLAY_HEIGHT,
        .display_ppi = DEFAULT_DISPLAY_PPI,
        .install_completed = true,
    };
}

/* Returns true when s is a MAC address "xx:xx:xx:xx:xx:xx" (hex digits) that
 * a network card can have: not a group address (the first octet's low bit),
 * such as the broadcast ff:ff:ff:ff:ff:ff. */
static bool valid_mac(const char *s)
{
    if (strlen(s) != 17)
        return false;
    for (int i = 0; i < 17; i++)
        if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
            return false;
    return (strtoul(s, NULL, 16) & 1) == 0;
}

#define VM_MAX_CPUS 1024   /* what Config.plist and --cpus accept; a run checks the host's own range */

/* Notes one bad key of Config.plist in problems ("KEY is VALUE; RULE"), so
 * that every bad key is named, not only the first. */
static void config_bad(struct buf *problems, const char *key, const struct plist *value, const char *rule)
{
    buf_printf(problems, "%s%s is ", problems->len ? "; " : "", key);
    if (value->type == PLIST_INTEGER)
        buf_printf(problems, "%s%" PRIu64, value->negative ? "-" : "", value->magnitude);
    else if (value->type == PLIST_STRING)
        buf_printf(problems, "\"%.60s\", a string", value->string);
    else
        buf_printf(problems, "%s %s", value->type == PLIST_ARRAY || value->type == PLIST_INTEGER ? "an" : "a",
                   plist_type_name(value->type));
    buf_printf(problems, ", not %s", rule);
}

/* Reads the integer key in [min, max] when Config.plist has it, setting the
 * `field` bit of *set; notes it in problems when it is not such an integer. */
static void config_uint(const struct plist *root, const char *key, uint64_t min, uint64_t max, uint64_t *out,
                        unsigned *set, unsigned field, struct buf *problems)
{
    const struct plist *v = plist_get(root, key);
    if (!v)
        return;
    if (plist_uint(root, key, max, out) && *out >= min) {
        *set |= field;
        return;
    }
    char rule[96];
    if (max == UINT64_MAX)
        snprintf(rule, sizeof rule, "a whole number of at least %" PRIu64, min);
    else
        snprintf(rule, sizeof rule, "a whole number from %" PRIu64 " to %" PRIu64, min, max);
    config_bad(problems, key, v, rule);
}

/* Copies the string at key, when there is one, into out. */
static void config_string(const struct plist *root, const char *key, char *out, size_t size)
{
    const char *s = plist_string(root, key);
    if (s)
        snprintf(out, size, "%s", s);
}

/* The keys of Config.plist that go in threes: one display, one installed macOS. */
static const char *const display_keys[] = {"DisplayWidth", "DisplayHeight", "DisplayPixelsPerInch"};
static const char *const installed_keys[] = {"InstalledFromIPSW", "InstalledProductVersion", "InstalledBuild"};

/* Reads the keys of a parsed Config.plist into *c (the defaults where a key
 * is bad).  Returns 0, or EX_DATAERR naming every bad key, its value and the rule. */
static int config_read(const struct plist *root, struct vm_config *c, struct error *e)
{
    uint64_t cpus = 0, w = 0, h = 0, ppi = 0, min_cpus = 0;
    unsigned display = 0, present = 0;
    struct buf problems = {0};
    config_uint(root, "CPUCount", 1, VM_MAX_CPUS, &cpus, &c->set, CONFIG_CPU, &problems);
    config_uint(root, "MemorySize", 1u << 20, UINT64_MAX, &c->memory_bytes, &c->set, CONFIG_MEMORY, &problems);
    config_uint(root, display_keys[0], 1, 16384, &w, &display, 1, &problems);
    config_uint(root, display_keys[1], 1, 16384, &h, &display, 2, &problems);
    config_uint(root, display_keys[2], 1, 1000, &ppi, &display, 4, &problems);
    config_uint(root, "InstalledMinCPUCount", 0, VM_MAX_CPUS, &min_cpus, &c->set, CONFIG_MIN_CPU, &problems);
    config_uint(root, "InstalledMinMemorySize", 0, UINT64_MAX, &c->min_memory_bytes, &c->set, CONFIG_MIN_MEMORY,
                &problems);
    for (int i = 0; i < 3; i++)
        present |= plist_get(root, display_keys[i]) ? 1u << i : 0;
    if (present && present != 7) {   /* the three make one display: all or none */
        buf_printf(&problems, "%sDisplayWidth, DisplayHeight and DisplayPixelsPerInch make one display: give all "
                   "three or none (this one has %s%s%s%s%s)", problems.len ? "; " : "",
                   present & 1 ? display_keys[0] : "", (present & 1) && (present & 6) ? " and " : "",
                   present & 2 ? display_keys[1] : "", (present & 2) && (present & 4) ? " and " : "",
                   present & 4 ? display_keys[2] : "");
        display = 0;
    }
    if (display == 7) {
        c->display_width = (unsigned)w;
        c->display_height = (unsigned)h;
        c->display_ppi = (unsigned)ppi;
        c->set |= CONFIG_DISPLAY;
    }
    c->cpu_count = (unsigned)cpus;
    c->min_cpu_count = (unsigned)min_cpus;
    if (plist_get(root, "MACAddress")) {
        const char *mac = plist_string(root, "MACAddress");
        if (!mac || !valid_mac(mac)) {
            config_bad(&problems, "MACAddress", plist_get(root, "MACAddress"),
                       "a MAC address such as 8a:2c:11:de:ad:02 (six pairs of hex digits, the first even)");
        } else {
            snprintf(c->mac_address, sizeof c->mac_address, "%s", mac);
            c->set |= CONFIG_MAC;
        }
    }
    const struct plist *done = plist_get(root, "InstallCompleted");
    if (done && done->type != PLIST_BOOL) {
        config_bad(&problems, "InstallCompleted", done, "true or false");
    } else if (done) {
        c->install_completed = done->boolean;
        c->set |= CONFIG_INSTALL;
    }
    /* Also alone: the devices a run gets depend on the installed macOS (see save_blocker's fix). */
    char *installed[] = {c->installed_from, c->installed_version, c->installed_build};
    size_t sizes[] = {sizeof c->installed_from, sizeof c->installed_version, sizeof c->installed_build};
    for (int i = 0; i < 3; i++)
        config_string(root, installed_keys[i], installed[i], sizes[i]);
    bool many = problems.len && strchr(problems.data, ';');
    int rc = 0;
    if (problems.len)
        rc = fail(e, EX_DATAERR, "Config.plist: %.900s; correct %s, or remove %s to use the default%s", problems.data,
                  many ? "them" : "it", many ? "the keys" : "the key", many ? "s" : "");
    buf_free(&problems);
    return rc;
}

/* Reads Config.plist into *c (defaults for what it lacks).  A missing file is
 * fine.  Returns 0, or EX_DATAERR naming the bad key or saying what to do. */
static int config_load(const char *bundle, struct vm_config *c, struct error *e)
{
    autofree char *path = path_join(bundle, BUNDLE_CONFIG);
    *c = config_defaults();
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT)
        return 0;   /* none: the defaults (a dangling link is no "none": reading it says what is wrong) */
    struct arena a = {0};
    struct plist *root = plist_read_file(path, SMALL_FILE_MAX, &a, e);
    int rc;
    if (!root) {
        char text[sizeof e->text];
        memcpy(text, e->text, sizeof text);
        /* A FIFO or folder in its place is a damaged file (65), as info says; only a dangling link is
         * missing.  None of them is a file plutil could lint; a file that cannot be opened is one to fix. */
        bool there = stat(path, &st) == 0, no_file = !there || !S_ISREG(st.st_mode);
        int code = there && !S_ISREG(st.st_mode) ? EX_DATAERR : e->code;
        rc = fail(e, code, "Config.plist: %.850s; %s", text, no_file ? "move it aside, and macvm uses the defaults"
                  : e->code == EX_NOINPUT ? "make it readable (ls -l shows its owner and mode)"
                  : "fix it (plutil -lint shows where) or remove it to use the defaults");
    } else if (root->type != PLIST_DICT) {
        rc = fail(e, EX_DATAERR, "Config.plist: its top is %s %s, not a dict; remove it to use the defaults",
                  root->type == PLIST_ARRAY || root->type == PLIST_INTEGER ? "an" : "a", plist_type_name(root->type));
    } else {
        rc = config_read(root, c, e);
    }
    arena_free(&a);
    return rc;
}

/* Writes Config.plist atomically with the values that c really sets, and the
 * keys of the file macvm does not know.  Returns 0 or an exit code. */
static int config_save(const char *bundle, const struct vm_config *c, struct error *e)
{
    autofree char *path = path_join(bundle, BUNDLE_CONFIG);
    struct arena a = {0};
    struct plist *root = plist_new(&a, PLIST_DICT);
    if (c->set & CONFIG_CPU)
        plist_add_uint(&a, root, "CPUCount", c->cpu_count);
    if (c->set & CONFIG_MEMORY)
        plist_add_uint(&a, root, "MemorySize", c->memory_bytes);
    const unsigned display[] = {c->display_width, c->display_height, c->display_ppi};
    const char *installed[] = {c->installed_from, c->installed_version, c->installed_build};
    if (c->set & CONFIG_DISPLAY)
        for (int i = 0; i < 3; i++)
            plist_add_uint(&a, root, display_keys[i], display[i]);
    if (c->set & CONFIG_MAC)
        plist_add_string(&a, root, "MACAddress", c->mac_address);
    if (c->set & CONFIG_INSTALL) {
        for (int i = 0; i < 3; i++)
            plist_add_string(&a, root, installed_keys[i], installed[i]);
        plist_add_bool(&a, root, "InstallCompleted", c->install_completed);
    }
    if (c->set & CONFIG_MIN_CPU)
        plist_add_uint(&a, root, "InstalledMinCPUCount", c->min_cpu_count);
    if (c->set & CONFIG_MIN_MEMORY)
        plist_add_uint(&a, root, "InstalledMinMemorySize", c->min_memory_bytes);
    /* Whatever else the file holds is the user's: it stays. */
    struct error ignored = {0};
    const struct plist *old = plist_read_file(path, SMALL_FILE_MAX, &a, &ignored);
    for (size_t i = 0; old && old->type == PLIST_DICT && i < old->count; i++)
        if (!plist_get(root, old->keys[i]))
            plist_append(&a, root, old->keys[i], old->items[i]);
    struct buf b = {0};
    plist_write_xml(&b, root);
    int rc = write_file_atomic(path, b.data, b.len, true, e);
    buf_free(&b);
    arena_free(&a);
    return rc;
}

/* HardwareModel as Apple writes it: a binary plist Apple calls opaque. */
struct hardware_model {
    uint64_t data_representation_version, platform_version;
    char minimum_supported_os[32];          /* "13.0.0" */
};

/* Decodes a HardwareModel file.  Returns 0, EX_NOINPUT or EX_DATAERR. */
static int hardware_model_read(const char *path, struct hardware_model *hw, struct error *e)
{
    struct arena a = {0};
    struct plist *root = plist_read_file(path, SMALL_FILE_MAX, &a, e);
    int rc = root ? 0 : e->code;
    const struct plist *os = plist_get(root, "MinimumSupportedOS");
    if (rc == 0 && (!plist_uint(root, "DataRepresentationVersion", UINT64_MAX, &hw->data_representation_version) ||
                    !plist_uint(root, "PlatformVersion", UINT64_MAX, &hw->platform_version)))
        rc = fail(e, EX_DATAERR, "lacks DataRepresentationVersion or PlatformVersion (not a HardwareModel?)");
    else if (rc == 0 && (!os || os->type != PLIST_ARRAY || os->count != 3))
        rc = fail(e, EX_DATAERR, "lacks MinimumSupportedOS as three numbers");
    for (int i = 0; rc == 0 && i < 3; i++)
        if (os->items[i]->type != PLIST_INTEGER || os->items[i]->negative || os->items[i]->magnitude > 9999)
            rc = fail(e, EX_DATAERR, "MinimumSupportedOS holds a value that is not a version number");
    if (rc == 0)
        snprintf(hw->minimum_supported_os, sizeof hw->minimum_supported_os, "%" PRIu64 ".%" PRIu64 ".%" PRIu64,
                 os->items[0]->magnitude, os->items[1]->magnitude, os->items[2]->magnitude);
    arena_free(&a);
    return rc;
}

/* Writes a hardware model as info and the Feedback report show it.  Its
 * minimum macOS is made of numbers, so it needs no escaping. */
static void hardware_model_text(struct buf *b, const struct hardware_model *hw)
{
    buf_printf(b, "DataRepresentationVersion %" PRIu64 ", PlatformVersion %" PRIu64 ", MinimumSupportedOS %s",
               hw->data_representation_version, hw->platform_version, hw->minimum_supported_os);
}

static void hardware_model_json(struct json *j, const char *key, const struct hardware_model *hw)
{
    json_open(j, key, '{');
    json_uint(j, "data_representation_version", hw->data_representation_version);
    json_uint(j, "platform_version", hw->platform_version);
    json_str(j, "minimum_supported_os", hw->minimum_supported_os);
    json_close(j, '}');
}

/* An ECID as macvm writes it everywhere: 0x and sixteen hex digits, the
 * spelling Apple's tools print. */
struct ecid_text {
    char s[19];
};

static struct ecid_text ecid_text(uint64_t ecid)
{
    struct ecid_text t;
    snprintf(t.s, sizeof t.s, "0x%016" PRIx64, ecid);
    return t;
}

/* Reads the serial number a MachineIdentifier carries (one made with a
 * custom or clone serial, macOS 13+): the string under a key naming it.
 * Apple documents no key; any "...Serial..." key counts.  Returns whether
 * there is one, in out. */
static bool machine_identifier_serial(const char *path, char *out, size_t size)
{
    struct arena a = {0};
    struct error e = {0};
    struct plist *root = plist_read_file(path, SMALL_FILE_MAX, &a, &e);
    bool found = false;
    for (size_t i = 0; root && root->type == PLIST_DICT && i < root->count && !found; i++)
        if (strcasestr(root->keys[i], "serial") && root->items[i]->type == PLIST_STRING) {
            snprintf(out, size, "%s", root->items[i]->string);
            found = true;
        }
    arena_free(&a);
    return found;
}

/* Decodes a MachineIdentifier file's ECID.  Returns 0, EX_NOINPUT or EX_DATAERR. */
static int machine_identifier_read(const char *path, uint64_t *ecid, struct error *e)
{
    struct arena a = {0};
    struct plist *root = plist_read_file(path, SMALL_FILE_MAX, &a, e);
    int rc = root ? 0 : e->code;
    if (rc == 0 && !plist_uint(root, "ECID", UINT64_MAX, ecid))
        rc = fail(e, EX_DATAERR, "lacks ECID (not a MachineIdentifier?)");
    arena_free(&a);
    return rc;
}

/* Returns the bundle path, absolute and without "." or "..": the one given,
 * or ~/VM.bundle.  Disposable clones and their logs go beside the bundle, so
 * "VM.bundle/", "." or a link must all name the real folder.  Free it. */
static char *bundle_path(const char *given)
{
    autofree char *home_bundle = path_join(home_dir(), DEFAULT_BUNDLE);
    const char *path = given ? given : home_bundle;
    autofree char *dir = path_dir(path);
    autofree char *name = path_base(path);
    char *real = realpath(path, NULL);
    if (real)
        return real;
    autofree char *real_dir = realpath(dir, NULL);
    if (real_dir && strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
        return path_join(real_dir, name);   /* not there yet (install creates it): its folder resolved */
    return xstrdup(path);
}

/* A clone is made in a hidden folder beside its destination,
 * .NAME-clone-XXXXXX/NAME, and renamed to its name when complete: a clone
 * killed half way never leaves a bundle under the final name, and `info`
 * names the folder it left.  A disposable run's clone lives in such a folder
 * beside the bundle (the same volume, so the clone is copy-on-write):
 * .NAME-ephemeral-XXXXXX/NAME. */
#define CLONE_MARK "-clone-"
#define EPHEMERAL_MARK "-ephemeral-"

/* Returns the template of a copy's hidden folder, dir/.NAME<mark>XXXXXX
 * (mkdtemp fills in the XXXXXX).  Free it. */
static char *copy_folder(const char *dir, const char *name, const char *mark)
{
    autofree char *hidden = xmalloc(strlen(name) + strlen(mark) + sizeof ".XXXXXX");
    sprintf(hidden, ".%s%sXXXXXX", name, mark);
    return path_join(dir, hidden);
}

/* Returns the template of the folder of a disposable run's clone of bundle.  Free it. */
static char *ephemeral_folder(const char *bundle)
{
    autofree char *name = path_base(bundle);
    autofree char *dir = path_dir(bundle);
    return copy_folder(dir, name, EPHEMERAL_MARK);
}

/* Returns the clone's path inside folder (the template, or the folder made from it).  Free it. */
static char *ephemeral_clone_path(const char *folder, const char *bundle)
{
    autofree char *name = path_base(bundle);
    return path_join(folder, name);
}

/* The bridge takes the bundle's files as UTF-8 text in fixed fields of
 * VM_PATH_MAX bytes (bridge.h); the longest of them is a file of a disposable run's clone,
 * and the longest name its folder, .NAME-ephemeral-XXXXXX.  Checked once,
 * as a run's description is resolved (and for a clone's destination), so
 * nothing is cut short later; info and feedback read a bundle of any path.
 * Returns 0, or EX_USAGE with what to do. */
static int bundle_fits(const char *bundle, struct error *e)
{
    autofree char *folder = ephemeral_folder(bundle);
    autofree char *clone = ephemeral_clone_path(folder, bundle);
    autofree char *longest = path_join(clone, BUNDLE_SAVE_FILE);
    autofree char *hidden = path_base(folder), *name = path_base(bundle);
    size_t added = strlen(hidden) - strlen(name);   /* a file system takes names of NAME_MAX bytes */
    if (!is_utf8(bundle))   /* the bridge's NSString of it would be empty: no file would be found */
        return fail(e, EX_USAGE, "the bundle's path is not UTF-8 text, which Virtualization needs; rename it (names "
                    "on a Mac's own disks always are)");
    if (strlen(hidden) > NAME_MAX)
        return fail(e, EX_USAGE, "the bundle's name is longer than macvm takes (a disposable run's clone of it goes in "
                    "a folder named .NAME" EPHEMERAL_MARK "XXXXXX, which would be %zu bytes, over %d); rename it to "
                    "at most %zu bytes", strlen(hidden), NAME_MAX, NAME_MAX - added);
    if (strlen(longest) < VM_PATH_MAX)
        return 0;
    return fail(e, EX_USAGE, "the bundle's path is longer than macvm takes (a disposable run's clone of it would "
                "need paths of %zu bytes, over %d); move the bundle to a shorter path", strlen(longest),
                VM_PATH_MAX - 1);
}

/* Takes a command's optional BUNDLE operand (the default bundle without
 * one).  Returns its path (free it), or NULL after saying why when there are
 * more: the command then exits with EX_USAGE. */
static char *bundle_operand(const char *command, int argc, char **argv)
{
    if (argc - optind > 1)
        return usage_error(command, "give at most one bundle"), NULL;
    if (optind < argc && !*argv[optind])   /* else taken for the current folder */
        return usage_error(command, "the bundle's path is empty; name a bundle"), NULL;
    return bundle_path(optind < argc ? argv[optind] : NULL);
}

/* Returns whether the file of a bundle is there, with its stat (through a link) in *st. */
static bool bundle_stat(const char *bundle, const char *file, struct stat *st)
{
    autofree char *path = path_join(bundle, file);
    return stat(path, st) == 0;
}

static bool clone_under_way(const char *bundle);

/* Checks that path is a bundle at all: a folder holding any of a bundle's
 * files.  Reports are made from bundles copied without their large Disk.img,
 * so that one is not required here.  Returns 0, or EX_NOINPUT with what to do. */
static int bundle_found(const char *path, struct error *e)
{
    static const char *const files[] = {BUNDLE_DISK, BUNDLE_HARDWARE_MODEL, BUNDLE_MACHINE_IDENTIFIER,
                                        BUNDLE_CONFIG, BUNDLE_LOGS};
    struct stat st;
    if (stat(path, &st) != 0) {
        int why = errno;
        if (clone_under_way(path))   /* not to be made again meanwhile */
            return fail(e, EX_TEMPFAIL, "not there yet: a clone to this path is under way; wait until it is done");
        if (lstat(path, &st) == 0)   /* install would refuse the path as taken: no advice to install */
            return fail(e, EX_NOINPUT, "not a VM bundle: a symbolic link to nothing (%s); name a bundle folder, such "
                        "as ~/VM.bundle, or restore what it points to", strerror(why));
        struct buf install = {0};
        shell_quote(&install, path);
        fail(e, EX_NOINPUT, "no VM bundle here; create one with: macvm install %s", install.data);
        buf_free(&install);
        return e->code;
    }
    if (!S_ISDIR(st.st_mode))   /* no place to install either: say what it is */
        return fail(e, EX_NOINPUT, "not a VM bundle: %s, not a folder; name a bundle folder, such as ~/VM.bundle%s",
                    file_kind(st.st_mode), S_ISREG(st.st_mode) ? " (a restore image is read with 'macvm ipsw FILE')"
                                                              : "");
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (bundle_stat(path, files[i], &st))
            return 0;
    return fail(e, EX_NOINPUT, "not a VM bundle (none of Disk.img, HardwareModel, MachineIdentifier, Config.plist "
                "or logs/ is there); name a bundle folder, such as ~/VM.bundle");
}

/* Checks that path is a bundle a VM can run from (or be cloned from): one
 * with its Disk.img.  Returns 0, or EX_NOINPUT with what to do. */
static int bundle_check(const char *path, struct error *e)
{
    int rc = bundle_found(path, e);
    if (rc)
        return rc;
    struct stat st;
    if (!bundle_stat(path, BUNDLE_DISK, &st))
        return fail(e, EX_NOINPUT, "not a VM bundle (no Disk.img); install one with 'macvm install'");
    /* The files Virtualization opens: a FIFO or device there would be handed to it. */
    static const char *const files[] = {BUNDLE_DISK, BUNDLE_AUX, BUNDLE_HARDWARE_MODEL, BUNDLE_MACHINE_IDENTIFIER,
                                        BUNDLE_SAVE_FILE};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (bundle_stat(path, files[i], &st) && !S_ISREG(st.st_mode))
            return fail(e, EX_DATAERR, "damaged: %s is %s, not a regular file; %s", files[i], file_kind(st.st_mode),
                        strcmp(files[i], BUNDLE_SAVE_FILE) == 0 ? "move it out of the bundle (the saved state is lost)"
                                                                : "restore the bundle from a clone or backup");
    return 0;
}

/* Appends "NAME (pid N)" to the list in b. */
static void holder_add(struct buf *b, const char *name, long pid)
{
    buf_printf(b, "%s%s (pid %ld)", b->len ? ", " : "", *name ? name : "?", pid);
}

/* Names the processes other than macvm that have path open, "NAME (pid N)"
 * separated by commas: who holds a lock, so "it is locked" can say by whom.
 * libproc on macOS, /proc elsewhere.  Returns the list (free it), or NULL
 * when it finds none or cannot tell. */
static char *file_holders(const char *path)
{
    autofree char *real = realpath(path, NULL);
    struct buf b = {0};
    if (!real)
        return NULL;
#ifdef __APPLE__
    int bytes = proc_listpidspath(PROC_ALL_PIDS, 0, real, PROC_LISTPIDSPATH_EXCLUDE_EVTONLY, NULL, 0);
    if (bytes <= 0)
        return NULL;
    size_t cap = (size_t)bytes / sizeof(pid_t) + 16;
    pid_t *pids = xcalloc(cap, sizeof *pids);
    bytes = proc_listpidspath(PROC_ALL_PIDS, 0, real, PROC_LISTPIDSPATH_EXCLUDE_EVTONLY, pids,
                              (int)(cap * sizeof *pids));
    for (int i = 0; bytes > 0 && i < bytes / (int)sizeof(pid_t); i++) {
        char name[2 * MAXCOMLEN + 1] = "";
        if (pids[i] != getpid() && proc_name(pids[i], name, sizeof name) >= 0)
            holder_add(&b, name, pids[i]);
    }
    free(pids);
#else
    size_t len = strlen(real);
    autofree char *target = xmalloc(len + 1);   /* a byte more than real: a longer link names another file */
    DIR *procs = opendir("/proc");
    for (struct dirent *pe; procs && (pe = readdir(procs));) {
        char fds[64];
        long pid = strtol(pe->d_name, NULL, 10);
        if (pid <= 0 || pid == getpid() || strspn(pe->d_name, "0123456789") != strlen(pe->d_name))
            continue;
        snprintf(fds, sizeof fds, "/proc/%ld/fd", pid);
        DIR *d = opendir(fds);   /* only our own processes' are readable: enough to name a holder we can stop */
        bool holds = false;
        for (struct dirent *fe; d && !holds && (fe = readdir(d));) {
            autofree char *link = path_join(fds, fe->d_name);
            holds = readlink(link, target, len + 1) == (ssize_t)len && memcmp(target, real, len) == 0;
        }
        if (d)
            closedir(d);
        if (!holds)
            continue;
        char comm[64] = "", path_comm[64];
        snprintf(path_comm, sizeof path_comm, "/proc/%ld/comm", pid);
        FILE *f = fopen(path_comm, "r");
        if (f && fgets(comm, sizeof comm, f))
            comm[strcspn(comm, "\n")] = 0;
        if (f)
            fclose(f);
        holder_add(&b, comm, pid);
    }
    if (procs)
        closedir(procs);
#endif
    return b.data;
}

/* Returns true when a VM runs from bundle: Virtualization locks its AuxiliaryStorage. */
static bool bundle_in_use(const char *bundle)
{
    autofree char *aux = path_join(bundle, BUNDLE_AUX);
    int fd = open(aux, O_RDONLY | O_NONBLOCK | O_CLOEXEC);   /* a FIFO there is damage, not a VM */
    if (fd < 0)
        return false;
    /* A shared test: two macvm processes testing at once never take each other for the VM. */
    bool busy = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (!busy) {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        busy = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    }
    close(fd);   /* also releases the flock if we took it */
    return busy;
}

/* --- The bundle lock --- */

/* macvm's own lock on a bundle: flock on BUNDLE_LOCK in it, shared while a
 * clone reads the bundle, exclusive while a VM runs from it, a disposable run
 * copies and runs it (two such VMs would share its ECID and MAC address) or a
 * clone is made into it (or into the temporary folder that holds it).  The
 * holder writes "PID what" into the file, so whoever is refused learns who
 * holds it.  The kernel lets go when macvm exits, however it exits: a lock
 * never outlives its holder. */
#define BUNDLE_LOCK ".macvm.lock"

enum bundle_use { USE_CLONE_SOURCE, USE_CLONE_DESTINATION, USE_RUN, USE_DISPOSABLE_RUN, USE_INSTALL };

/* Reads what the holder of the lock open as fd wrote in it: its PID (returned;
 * 0 when it says none) and what it does, "running", "cloning" or "installing". */
static int lock_holder(int fd, char what[16])
{
    char who[64] = "";
    ssize_t n = pread(fd, who, sizeof who - 1, 0);
    who[n > 0 ? n : 0] = 0;
    int pid = 0;
    what[0] = 0;
    return sscanf(who, "%d %15[a-z]", &pid, what) == 2 && pid > 0 ? pid : 0;
}

/* Fails with EX_TEMPFAIL: the macvm pid (0: unknown) holds the bundle, doing what. */
static int busy_fail(struct error *e, int pid, const char *what)
{
    if (pid)
        return fail(e, EX_TEMPFAIL, "busy: macvm (PID %d) is %s it; wait until it is done", pid, what);
    return fail(e, EX_TEMPFAIL, "busy: another macvm is using it; wait until it is done");
}

/* Takes the lock for use.  Returns 0 with the lock's descriptor in *fd (-1:
 * a read-only bundle, which no VM runs from but a clone or a disposable run
 * may read, without one), EX_TEMPFAIL naming the holder, or another exit code. */
static int bundle_lock(const char *bundle, enum bundle_use use, int *fd, struct error *e)
{
    autofree char *path = path_join(bundle, BUNDLE_LOCK);
    bool shared = use == USE_CLONE_SOURCE, reads_only = shared || use == USE_DISPOSABLE_RUN;
    *fd = -1;
    int lock = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (lock < 0 && reads_only && (errno == EROFS || errno == EACCES || errno == EPERM))
        lock = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (lock < 0 && reads_only && (errno == EROFS || errno == EACCES || errno == EPERM || errno == ENOENT))
        return 0;
    if (lock < 0 && errno == EISDIR)   /* said as a FIFO or device there is said */
        return fail(e, EX_DATAERR, "damaged: %s is a folder, not a regular file; remove it", BUNDLE_LOCK);
    if (lock < 0)
        return fail(e, errno == ELOOP ? EX_DATAERR : EX_CANTCREAT, "cannot lock the bundle: %s: %s", BUNDLE_LOCK,
                    errno == ELOOP ? "a symbolic link; remove it" : strerror(errno));
    struct stat st;
    int saved = fstat(lock, &st) != 0 ? errno : 0;
    if (saved || !S_ISREG(st.st_mode)) {
        close(lock);
        return saved ? fail(e, EX_IOERR, "cannot lock the bundle: %s: %s", BUNDLE_LOCK, strerror(saved))
                     : fail(e, EX_DATAERR, "damaged: %s is %s, not a regular file; remove it", BUNDLE_LOCK,
                            file_kind(st.st_mode));
    }
    if (flock(lock, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
        saved = errno;
        char what[16];
        int pid = lock_holder(lock, what);
        close(lock);
        if (saved != EWOULDBLOCK)   /* a file system without locks: no worse than before there was one */
            return warn("could not lock %s: %s", bundle, strerror(saved)), 0;
        return busy_fail(e, pid, what);
    }
    char who[64];
    int n = snprintf(who, sizeof who, "%d %s\n", (int)getpid(),
                     use == USE_RUN || use == USE_DISPOSABLE_RUN ? "running"
                     : use == USE_INSTALL                        ? "installing"
                                                                 : "cloning");
    if ((st.st_mode & 0200) && pwrite(lock, who, (size_t)n, 0) == n)
        (void)!ftruncate(lock, n);
    *fd = lock;
    return 0;
}

static void bundle_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* Returns true when macvm holds the lock of bundle: a run, a clone or an
 * install is under way; *pid and what say whose (lock_holder). */
static bool bundle_holder(const char *bundle, int *pid, char what[16])
{
    autofree char *path = path_join(bundle, BUNDLE_LOCK);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    bool busy = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    *pid = 0;
    what[0] = 0;
    if (busy)
        *pid = lock_holder(fd, what);
    bundle_unlock(fd);   /* and the shared lock this test may have taken */
    return busy;
}

/* Returns true when macvm holds the lock of bundle. */
static bool bundle_locked(const char *bundle)
{
    int pid;
    char what[16];
    return bundle_holder(bundle, &pid, what);
}

/* Returns the PID of the macvm that installs into bundle now (it holds the
 * lock, saying "installing"), or 0: then an incomplete install is one that
 * stopped, not one under way. */
static int installer_pid(const char *bundle)
{
    int pid;
    char what[16];
    return bundle_holder(bundle, &pid, what) && strcmp(what, "installing") == 0 ? pid : 0;
}

/* Gives fd the permissions and times of st, as cp -a would (a copy is made private, then given them). */
static void copy_metadata(int fd, const struct stat *st)
{
#ifdef __APPLE__
    struct timespec times[2] = {st->st_atimespec, st->st_mtimespec};
#else
    struct timespec times[2] = {st->st_atim, st->st_mtim};
#endif
    if (fchmod(fd, st->st_mode & 07777) != 0 || futimens(fd, times) != 0)
        warn("could not keep the permissions or times of a copied file: %s", strerror(errno));
}

/* Returns the bytes a file really occupies on disk (its blocks). */
static uint64_t allocated_bytes(const struct stat *st)
{
    return (uint64_t)st->st_blocks * 512;
}

/* Checks that the folder a new bundle (or clone) goes in is there, is a
 * folder, and may be written.  Returns 0 or EX_CANTCREAT with what to do. */
static int bundle_folder_check(const char *path, struct error *e)
{
    autofree char *dir = path_dir(path);
    struct stat st;
    struct buf quoted = {0};
    shell_quote(&quoted, dir);
    int rc = 0;
    bool there = stat(dir, &st) == 0;
    int why = errno;
    if (there && !S_ISDIR(st.st_mode))
        rc = fail(e, EX_CANTCREAT, "%s is %s, not a folder; name a path in a folder", dir, file_kind(st.st_mode));
    else if (!there && why == ENOENT)
        rc = fail(e, EX_CANTCREAT, "the folder %s does not exist; create it (mkdir -p %s) or name another path", dir,
                  quoted.data);
    else if (!there)   /* a file where a folder of its path belongs, or no search right: mkdir -p fails too */
        rc = fail(e, EX_CANTCREAT, "cannot write in %s: %s; name a path in a folder you own", dir, strerror(why));
    else if (access(dir, W_OK) != 0)
        rc = fail(e, EX_CANTCREAT, "cannot write in %s; name a path in a folder you own", dir);
    buf_free(&quoted);
    return rc;
}

/* Checks that a new bundle can be made at path: nothing there yet (nor a
 * clone to it under way, EX_TEMPFAIL), and a folder to make it in that macvm
 * may write.  Checked before a 13 GB download, not after.  Returns 0 or
 * EX_CANTCREAT with what to do. */
static int bundle_can_create(const char *path, struct error *e)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        struct buf other = {0};
        shell_quote(&other, path);
        buf_puts(&other, "-2");   /* '/a b'-2 is the word "/a b-2" */
        fail(e, EX_CANTCREAT, "already exists; macvm never touches an existing bundle: name another path, "
             "e.g. macvm install %s", other.data);
        buf_free(&other);
        return e->code;
    }
    if (clone_under_way(path))
        return fail(e, EX_TEMPFAIL, "a clone to this path is under way; wait until it is done, or name another path");
    return bundle_folder_check(path, e);
}

/* Creates a new bundle: the directory and a sparse Disk.img of disk_size.
 * Never touches an existing path; on failure removes only what it made.
 * Returns 0, EX_CANTCREAT or EX_IOERR. */
static int bundle_create(const char *path, uint64_t disk_size, struct error *e)
{
    int rc = bundle_can_create(path, e);
    if (rc)
        return rc;
    autofree char *disk = path_join(path, BUNDLE_DISK);
    if (mkdir(path, 0755) != 0)
        return errno == EEXIST ? bundle_can_create(path, e)
                               : fail(e, EX_CANTCREAT, "cannot create the bundle: %s", strerror(errno));
    /* As Apple's sample: a sparse file, so a 64 GiB disk takes no space until the guest writes. */
    int fd = open(disk, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)disk_size) != 0) {
        int saved = errno;
        if (fd >= 0) {   /* only what this call made */
            close(fd);
            unlink(disk);
        }
        rmdir(path);
        return fail(e, saved == EFBIG || saved == ENOSPC ? EX_IOERR : EX_CANTCREAT,
                    "cannot create Disk.img: %s", strerror(saved));
    }
    close(fd);
    return 0;
}

/* --- Clones --- */

enum clone_method { CLONE_NONE, CLONE_COW, CLONE_SPARSE_COPY };

/* Copies src_fd to dst_fd keeping holes: only data regions are read and
 * written (SEEK_DATA/SEEK_HOLE); without those, zero blocks are skipped.
 * Returns 0, EXIT_INTERRUPTED or an exit code. */
static int copy_sparse(int src_fd, int dst_fd, uint64_t size, struct error *e)
{
    static char block[1 << 20];
    uint64_t off = 0;
    bool seekable = lseek(src_fd, 0, SEEK_DATA) >= 0 || errno == ENXIO;
    while (off < size) {
        uint64_t end = size;
        if (seekable) {
            off_t d = lseek(src_fd, (off_t)off, SEEK_DATA);
            if (d < 0 && errno == ENXIO)
                break;   /* only a hole is left */
            if (d < 0)
                return fail(e, EX_IOERR, "cannot find the data in the file: %s", strerror(errno));
            off_t h = lseek(src_fd, d, SEEK_HOLE);
            off = (uint64_t)d;
            end = h < 0 ? size : (uint64_t)h;
        }
        while (off < end) {
            if (interrupted)
                return EXIT_INTERRUPTED;
            size_t n = end - off < sizeof block ? (size_t)(end - off) : sizeof block;
            ssize_t r = pread(src_fd, block, n, (off_t)off);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return fail(e, EX_IOERR, "read failed: %s", r < 0 ? strerror(errno) : "file shrank");
            bool zero = !seekable && block[0] == 0 && memcmp(block, block + 1, (size_t)r - 1) == 0;
            for (ssize_t w = 0; !zero && w < r;) {
                ssize_t k = pwrite(dst_fd, block + w, (size_t)(r - w), (off_t)off + w);
                if (k < 0 && errno == EINTR)
                    continue;
                if (k < 0)
                    return fail(e, EX_IOERR, "write failed: %s%s", strerror(errno),
                                errno == ENOSPC || errno == EFBIG ? "; free space, or clone to another volume" : "");
                w += k;
            }
            off += (uint64_t)r;
        }
    }
    if (ftruncate(dst_fd, (off_t)size) != 0)
        return fail(e, EX_IOERR, "cannot set the size: %s", strerror(errno));
    return 0;
}

/* Clones one regular file: copy-on-write when the filesystem can, else a
 * sparse copy.  Lowers *method to what really happened.  Returns 0 or an exit code. */
static int clone_file(const char *src, const char *dst, enum clone_method *method, struct error *e)
{
    int in = open_regular(src, e);   /* through a link: its data is what is cloned */
    if (in < 0)
        return fail_prefix(e, src);
#ifdef __APPLE__
    if (fclonefileat(in, AT_FDCWD, dst, 0) == 0) {
        close(in);
        return 0;
    }
#endif
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);   /* private until copy_metadata */
    if (out < 0) {
        int saved = errno;
        close(in);
        return fail(e, EX_CANTCREAT, "cannot create %s: %s", dst, strerror(saved));
    }
    struct stat st;
    int rc = fstat(in, &st) == 0 ? 0 : fail(e, EX_IOERR, "cannot stat %s", src);
#ifdef FICLONE
    bool cloned = rc == 0 && ioctl(out, FICLONE, in) == 0;
#else
    bool cloned = false;
#endif
    if (rc == 0 && !cloned) {
        *method = CLONE_SPARSE_COPY;
        rc = copy_sparse(in, out, (uint64_t)st.st_size, e);
        if (rc && rc != EXIT_INTERRUPTED)
            fail_prefix(e, dst);
    }
    if (rc == 0)
        copy_metadata(out, &st);
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = fail(e, EX_IOERR, "cannot write %s: %s", dst, strerror(errno));
    return rc;
}

/* Clones the directory src into dst, which must not exist: directories,
 * regular files, and the data behind links to regular files (a Disk.img on
 * another volume): a clone never shares a byte with its source.  Anything
 * else is refused.  macvm's lock is not copied.  Returns 0 or an exit code. */
static int clone_tree(const char *src, const char *dst, enum clone_method *method, struct error *e)
{
    struct stat st;
    if (mkdir(dst, 0700) != 0)   /* private until copy_metadata gives it src's permissions */
        return fail(e, EX_CANTCREAT, "cannot create %s: %s", dst, strerror(errno));
    DIR *d = opendir(src);
    if (!d)
        return fail(e, EX_NOINPUT, "cannot read %s: %s", src, strerror(errno));
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || strcmp(de->d_name, BUNDLE_LOCK) == 0)
            continue;
        autofree char *s = path_join(src, de->d_name);
        autofree char *t = path_join(dst, de->d_name);
        struct stat target;
        if (lstat(s, &st) != 0)
            rc = fail(e, EX_NOINPUT, "cannot read %s: %s", s, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = clone_tree(s, t, method, e);
        else if (S_ISLNK(st.st_mode) && stat(s, &target) != 0)
            rc = fail(e, EX_DATAERR, "%s is a symbolic link to nothing (%s); remove it or restore what it "
                      "points to", s, strerror(errno));
        else if (S_ISLNK(st.st_mode) && !S_ISREG(target.st_mode))
            rc = fail(e, EX_DATAERR, "%s is a symbolic link to %s; macvm copies the data behind links to "
                      "files only: put the folder itself in the bundle", s, file_kind(target.st_mode));
        else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
            rc = clone_file(s, t, method, e);   /* through a link: its data */
        else
            rc = fail(e, EX_DATAERR, "damaged: %s is %s, not a regular file; remove it", s, file_kind(st.st_mode));
    }
    closedir(d);
    int fd = rc == 0 ? open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0 && stat(src, &st) == 0)
        copy_metadata(fd, &st);   /* after the contents, which change a directory's times */
    if (fd >= 0)
        close(fd);
    return rc;
}

#ifdef __APPLE__
/* nftw's callback for tree_is_plain: stops at anything but folders and regular files. */
static int plain_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    return flag == FTW_D || (flag == FTW_F && S_ISREG(st->st_mode)) ? 0 : 1;
}

/* Returns true when the tree holds only folders and regular files: then
 * clonefile may clone it whole (it would clone a link as a link). */
static bool tree_is_plain(const char *path)
{
    return nftw(path, plain_entry, 16, FTW_PHYS) == 0;
}
#endif

/* Gives the finished clone (from) its name (to), never over something that
 * appeared there meanwhile.  Returns 0, or EX_CANTCREAT. */
static int rename_new(const char *from, const char *to, struct error *e)
{
#if defined(__APPLE__)
    int rc = renamex_np(from, to, RENAME_EXCL);
#else
    int rc = -1;
    errno = ENOSYS;
#ifdef RENAME_NOREPLACE
    rc = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
#endif
    struct stat st;
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS))   /* a file system that cannot: check, then rename */
        rc = lstat(to, &st) == 0 ? (errno = EEXIST, -1) : rename(from, to);
#endif
    if (rc != 0 && (errno == EEXIST || errno == ENOTEMPTY))   /* made while we copied: another clone to it */
        return fail(e, EX_CANTCREAT, "%s appeared while the clone was made (another macvm or program made it); "
                    "macvm never overwrites: name a new path", to);
    return rc == 0 ? 0 : fail(e, EX_CANTCREAT, "cannot name the clone %s: %s", to, strerror(errno));
}

/* Copies src into the folder inner (which does not exist yet), copy-on-write
 * where the filesystem allows.  Returns 0 or an exit code. */
static int clone_into(const char *src, const char *inner, enum clone_method *method, struct error *e)
{
#ifdef __APPLE__
    /* clonefile clones a whole directory tree in one call on APFS. */
    if (tree_is_plain(src)) {
        if (clonefile(src, inner, 0) == 0) {
            autofree char *lock = path_join(inner, BUNDLE_LOCK);
            unlink(lock);   /* the source's, with its holder in it */
            return 0;
        }
        if (errno != ENOTSUP && errno != EXDEV)
            return fail(e, EX_CANTCREAT, "cannot clone to %s: %s", inner, strerror(errno));
    }
#endif
    return clone_tree(src, inner, method, e);
}

static int give_new_identity(const char *dst, uint64_t *ecid, struct error *e);

/* Returns true when path is folder or lies inside it (both real paths). */
static bool path_within(const char *path, const char *folder)
{
    size_t n = strlen(folder);
    return strncmp(path, folder, n) == 0 && (path[n] == 0 || path[n] == '/' || (n && folder[n - 1] == '/'));
}

/* Clones bundle src to dst, copy-on-write where the filesystem allows.  dst
 * must not exist; src is only ever read, under a shared lock (a run waits)
 * unless the caller holds src's lock (src_locked).  With new_ecid, the copy
 * gets its own identity (its ECID in *new_ecid) before it gets its name, so
 * dst appears whole, with the identity asked for, or not at all; the copy
 * is locked from the start, so info never calls it a leftover.  On success
 * *dst_lock holds dst's exclusive lock (NULL: let go).  Returns 0 with
 * *method, EXIT_INTERRUPTED, or an exit code. */
static int bundle_clone(const char *src, const char *dst, bool src_locked, uint64_t *new_ecid,
                        enum clone_method *method, int *dst_lock, struct error *e)
{
    struct stat st;
    int rc = bundle_check(src, e);
    if (rc)
        return fail_prefix(e, src);
    if (lstat(dst, &st) == 0)
        return fail(e, EX_CANTCREAT, "%s already exists; macvm never overwrites: name a new path", dst);
    if (clone_under_way(dst))   /* one of the two copies would be made in vain */
        return fail(e, EX_TEMPFAIL, "%s: a clone to this path is under way; wait until it is done, or name another "
                    "path", dst);
    if ((rc = bundle_folder_check(dst, e)))
        return rc;
    autofree char *dst_dir = path_dir(dst);
    autofree char *name = path_base(dst);
    autofree char *dst_real = realpath(dst_dir, NULL);
    if (!dst_real)
        return fail(e, EX_CANTCREAT, "cannot create %s: %s", dst, strerror(errno));
    autofree char *src_real = realpath(src, NULL);
    if (src_real && path_within(dst_real, src_real))
        return fail(e, EX_USAGE, "%s lies inside the bundle it would copy; name a path outside it", dst);
    autofree char *folder = copy_folder(dst_real, name, CLONE_MARK);
    if (bundle_in_use(src))
        return fail(e, EX_TEMPFAIL, "%s: its VM is running (AuxiliaryStorage is locked), so a copy would not be "
                    "consistent; stop the VM, then clone", src);
    int src_lock = -1, folder_lock = -1, lock = -1;
    if (!src_locked && (rc = bundle_lock(src, USE_CLONE_SOURCE, &src_lock, e)))
        return fail_prefix(e, src);
    void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN);   /* a file-size limit is an error, not a kill */
    catch_interrupts();   /* before the folder exists: from here on, Ctrl-C removes it */
    if (!mkdtemp(folder)) {
        rc = fail(e, EX_CANTCREAT, "cannot create a folder beside %s: %s", dst, strerror(errno));
    } else {
        autofree char *inner = path_join(folder, name);
        *method = CLONE_COW;
        rc = bundle_lock(folder, USE_CLONE_DESTINATION, &folder_lock, e);
        if (rc == 0)
            rc = interrupted ? EXIT_INTERRUPTED : clone_into(src, inner, method, e);
        if (rc == 0 && new_ecid && (rc = give_new_identity(inner, new_ecid, e)) && rc != EXIT_INTERRUPTED) {
            struct buf what = {0};
            buf_printf(&what, "%s was not made: it could not get an identity of its own", dst);
            fail_prefix(e, what.data);
            buf_free(&what);
        }
        if (rc == 0 && interrupted)
            rc = EXIT_INTERRUPTED;
        if (rc == 0)
            rc = bundle_lock(inner, USE_CLONE_DESTINATION, &lock, e);
        if (rc == 0)
            rc = rename_new(inner, dst, e);
        struct error left;
        bool removed = remove_tree(folder, &left) == 0;   /* after the rename, only its lock is in it */
        bundle_unlock(folder_lock);
        if (!removed)
            warn("%s; remove it with rm -r", left.text);
        if (rc == EXIT_INTERRUPTED)
            fail(e, EXIT_INTERRUPTED, "interrupted; the partial clone %s was %s", dst, removed ? "removed" : "left");
    }
    signal(SIGXFSZ, old_xfsz);
    bundle_unlock(src_lock);
    if (rc == 0 && dst_lock)
        *dst_lock = lock;
    else
        bundle_unlock(lock);
    return rc;
}

/* ========================== 2. VM description =========================== */

/* What the user asked for on the command line of `macvm run`. */
struct run_options {
    unsigned cpu_count;                 /* 0: from Config.plist or the default */
    uint64_t memory_bytes;              /* 0: likewise */
    bool recovery, dfu, iboot_stage1, iboot_stage2;
    bool debug_stub, debug_stub_all_interfaces;
    unsigned debug_stub_port;           /* 0: the system chooses */
    const char *boot_args;              /* NULL: leave NVRAM alone */
    enum disk_caching disk_caching;
    enum disk_sync disk_sync;
    bool headless, audio, save_on_stop, ephemeral, no_log, dry_run, json;
    bool console, serial, screenshot;
    enum vm_panic_action panic;
    const char *shares[VM_SHARES_MAX];    /* DIR[:ro|:rw] as given */
    unsigned n_shares;
};

/* The names of the disk modes, as --disk-cache and --disk-sync take them and run.json keeps them. */
static const char *const disk_caching_names[] = {"automatic", "cached", "uncached", NULL};
static const char *const disk_sync_names[] = {"full", "fsync", "none", NULL};

/* Returns the index of name in names (NULL-terminated), or -1. */
static int name_index(const char *const *names, const char *name)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

static const char *start_mode_name(enum vm_start_mode m)
{
    static const char *names[] = {"normal", "recovery", "dfu", "iboot-stage1", "iboot-stage2"};
    return names[m];
}

static const char *start_mode_title(enum vm_start_mode m)
{
    static const char *titles[] = {"", "macOS Recovery", "DFU", "stopped in iBoot stage 1",
                                   "stopped in iBoot stage 2"};
    return titles[m];
}

/* Returns v within what Virtualization allows, min to max (0: not known). */
static uint64_t within_limits(uint64_t v, uint64_t min, uint64_t max)
{
    if (max && v > max)
        v = max;
    return min && v < min ? min : v;
}

/* Returns the number of CPUs as Apple's sample computes it: all host cores
 * but one, at least one, within what Virtualization allows when known. */
static unsigned compute_cpu_count(const struct host_info *host)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return (unsigned)within_limits(cores > 1 ? (uint64_t)cores - 1 : 1, host->min_cpu_count, host->max_cpu_count);
}

/* Returns Apple's sample's memory size, 4 GiB, within what Virtualization allows when known. */
static uint64_t compute_memory_size(const struct host_info *host)
{
    return within_limits(DEFAULT_MEMORY, host->min_memory_bytes, host->max_memory_bytes);
}

/* Returns the CPUs a run gets when neither --cpus nor Config.plist says:
 * Apple's default, raised to what the installed macOS needs. */
static unsigned default_cpu_count(const struct vm_config *c, const struct host_info *host)
{
    unsigned n = compute_cpu_count(host);
    return n > c->min_cpu_count ? n : c->min_cpu_count;
}

/* Returns the memory a run gets when neither --memory nor Config.plist says:
 * Apple's 4 GiB, raised to what the installed macOS needs. */
static uint64_t default_memory_size(const struct vm_config *c, const struct host_info *host)
{
    uint64_t m = compute_memory_size(host);
    return m > c->min_memory_bytes ? m : c->min_memory_bytes;
}

/* Returns how a CPU count or memory size was chosen, for people: "" when the
 * user chose it on the command line, else where it came from. */
static const char *value_origin(bool option, bool config, bool raised, bool cpus)
{
    if (option)
        return "";
    if (config)
        return " (Config.plist)";
    if (raised)
        return cpus ? " (default: host cores - 1, raised to what the installed macOS needs)"
                    : " (default, raised to what the installed macOS needs)";
    return cpus ? " (default: host cores - 1)" : " (default)";
}

/* Copies dir/name (dir itself when name is NULL) into a path field of the
 * spec: the one place that fills them.  Returns false (errno ENAMETOOLONG)
 * when it does not fit. */
static bool spec_set_path(char field[VM_PATH_MAX], const char *dir, const char *name)
{
    autofree char *path = name ? path_join(dir, name) : xstrdup(dir);
    if (snprintf(field, VM_PATH_MAX, "%s", path) < VM_PATH_MAX)
        return true;
    errno = ENAMETOOLONG;
    return false;
}

/* Points every file of the spec into bundle (the source, or its clone).
 * They fit: bundle_operand refused a bundle whose clone's files would not (bundle_fits). */
static void spec_set_bundle(struct vm_spec *s, const char *bundle)
{
    spec_set_path(s->bundle, bundle, NULL);
    spec_set_path(s->disk_image, bundle, BUNDLE_DISK);
    spec_set_path(s->auxiliary_storage, bundle, BUNDLE_AUX);
    spec_set_path(s->hardware_model, bundle, BUNDLE_HARDWARE_MODEL);
    spec_set_path(s->machine_identifier, bundle, BUNDLE_MACHINE_IDENTIFIER);
    spec_set_path(s->save_file, bundle, BUNDLE_SAVE_FILE);
}

/* Returns whether entry names a copy's folder of the bundle called name:
 * ".NAME", then -ephemeral- or -clone- and mkdtemp's six characters. */
static bool is_copy_of(const char *entry, const char *name)
{
    static const char *const marks[] = {EPHEMERAL_MARK, CLONE_MARK};
    size_t len = strlen(name);
    if (entry[0] != '.' || strncmp(entry + 1, name, len) != 0)
        return false;
    const char *rest = entry + 1 + len;
    for (size_t i = 0; i < 2; i++)
        if (strncmp(rest, marks[i], strlen(marks[i])) == 0 && strlen(rest) == strlen(marks[i]) + 6)
            return true;
    return false;
}

/* Lists the entries beside bundle (in its folder, but not bundle itself) that
 * keep says yes to, as paths.  Returns their count; *paths holds them (free
 * with free_names). */
static size_t bundle_neighbours(const char *bundle, bool (*keep)(const char *path, const char *entry, const void *ctx),
                                const void *ctx, char ***paths)
{
    autofree char *dir = path_dir(bundle);
    autofree char *self = path_base(bundle);
    size_t n = 0;
    *paths = NULL;
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        if (strcmp(de->d_name, self) == 0 || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *path = path_join(dir, de->d_name);
        if (!keep(path, de->d_name, ctx)) {
            free(path);
            continue;
        }
        *paths = xrealloc(*paths, (n + 1) * sizeof **paths);
        (*paths)[n++] = path;
    }
    if (d)
        closedir(d);
    return n;
}

/* Whether the entry at path is a copy of the bundle called name (is_copy_of)
 * that no macvm works on. */
static bool is_leftover_copy(const char *path, const char *entry, const void *name)
{
    if (!is_copy_of(entry, name))
        return false;
    autofree char *clone = path_join(path, name);
    return !bundle_locked(path) && !bundle_locked(clone) && !bundle_in_use(clone);
}

/* Lists the clones beside bundle that no macvm works on: what a killed
 * --ephemeral run of it, or a killed clone to its path, left behind.  Returns
 * their count; *dirs holds their folders (free with free_names). */
static size_t leftover_clones(const char *bundle, char ***dirs)
{
    autofree char *name = path_base(bundle);
    return bundle_neighbours(bundle, is_leftover_copy, name, dirs);
}

/* Returns true when a leftover folder is a clone's (.NAME-clone-XXXXXX), not a disposable run's. */
static bool leftover_of_clone(const char *folder)
{
    size_t n = strlen(folder), mark = strlen(CLONE_MARK) + 6;
    return n >= mark && strncmp(folder + n - mark, CLONE_MARK, strlen(CLONE_MARK)) == 0;
}

/* Warns about each copy a killed clone to bundle's path or a killed
 * disposable run of it left beside it: a command that makes another such copy
 * (often after the kill, to retry) names the space the old one still takes. */
static void warn_leftovers(const char *bundle)
{
    char **left;
    size_t n = leftover_clones(bundle, &left);
    for (size_t i = 0; i < n; i++) {
        struct buf rm = {0};
        shell_quote(&rm, left[i]);
        warn("%s was killed and left %s, which still takes space: remove it with rm -r %s",
             leftover_of_clone(left[i]) ? "a clone to this path" : "a disposable run of this bundle", left[i], rm.data);
        buf_free(&rm);
    }
    free_names(left, n);
}

/* Whether the entry at path is a clone to the bundle called name that a
 * macvm makes now (.NAME-clone-XXXXXX, locked). */
static bool is_clone_in_making(const char *path, const char *entry, const void *name)
{
    return is_copy_of(entry, name) && leftover_of_clone(path) && bundle_locked(path);
}

/* Returns true when a macvm is making a clone to bundle's path now. */
static bool clone_under_way(const char *bundle)
{
    autofree char *name = path_base(bundle);
    char **dirs;
    size_t n = bundle_neighbours(bundle, is_clone_in_making, name, &dirs);
    free_names(dirs, n);
    return n > 0;
}

/* Returns "macOS 15.0", or "the installed macOS" when Config.plist does not say. */
static const char *installed_name(const struct vm_config *c)
{
    static char name[48];
    if (!c->installed_version[0])
        return "the installed macOS";
    snprintf(name, sizeof name, "macOS %s", c->installed_version);
    return name;
}

/* Fails with the problem (fmt) and how to change the CPU count (cpus) or
 * memory size where it came from: the option (EX_USAGE; within, or at least
 * value), Config.plist with the plutil command that sets value (EX_CONFIG), or
 * nowhere, the defaults (EX_UNAVAILABLE). */
static int resource_fail(struct error *e, const struct run_options *o, const struct vm_config *c, const char *bundle,
                         bool cpus, bool within, uint64_t value, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static int resource_fail(struct error *e, const struct run_options *o, const struct vm_config *c, const char *bundle,
                         bool cpus, bool within, uint64_t value, const char *fmt, ...)
{
    char problem[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof problem, fmt, ap);
    va_end(ap);
    const char *option = cpus ? "cpus" : "memory";
    bool chosen = cpus ? o->cpu_count != 0 : o->memory_bytes != 0;
    if (chosen && within)
        return fail(e, EX_USAGE, "%s; use --%s within that", problem, option);
    if (chosen)
        return fail(e, EX_USAGE, "%s; use --%s %" PRIu64 "%s or more", problem, option, cpus ? value : value >> 20,
                    cpus ? "" : "M");
    if (!(c->set & (cpus ? CONFIG_CPU : CONFIG_MEMORY)))
        return fail(e, EX_UNAVAILABLE, "%s; this Mac cannot run it", problem);
    autofree char *config = path_join(bundle, BUNDLE_CONFIG);
    struct buf quoted = {0};
    shell_quote(&quoted, config);
    fail(e, EX_CONFIG, "%s; change Config.plist: plutil -replace %s -integer %" PRIu64 " %s", problem,
         cpus ? "CPUCount" : "MemorySize", value, quoted.data);
    buf_free(&quoted);
    return EX_CONFIG;
}

/* Checks the CPU count and memory size against the host's limits and what
 * the installed macOS needs, naming where a bad value came from.  Returns 0,
 * or EX_USAGE (an option), EX_CONFIG (Config.plist) or EX_UNAVAILABLE (the
 * defaults do not fit this Mac), with *e. */
static int check_resources(const struct vm_spec *s, const struct host_info *host, const struct vm_config *c,
                           const struct run_options *o, struct error *e)
{
    char have[32], lo[32], hi[32];
    const char *bundle = s->source_bundle;
    unsigned cpu_min = host->min_cpu_count > c->min_cpu_count ? host->min_cpu_count : c->min_cpu_count;
    uint64_t mem_min = host->min_memory_bytes > c->min_memory_bytes ? host->min_memory_bytes : c->min_memory_bytes;
    if (host->max_cpu_count && (s->cpu_count < host->min_cpu_count || s->cpu_count > host->max_cpu_count))
        return resource_fail(e, o, c, bundle, true, true, s->cpu_count < host->min_cpu_count ? cpu_min
                             : host->max_cpu_count, "%u CPU%s: this Mac allows %u to %u", s->cpu_count,
                             s->cpu_count == 1 ? "" : "s", host->min_cpu_count, host->max_cpu_count);
    if (!host->max_cpu_count && s->cpu_count > VM_MAX_CPUS)   /* off a Mac: what any VM can have */
        return fail(e, EX_USAGE, "%u CPUs: a VM can have 1 to %u; use --cpus within that", s->cpu_count, VM_MAX_CPUS);
    if (host->max_memory_bytes && (s->memory_bytes < host->min_memory_bytes || s->memory_bytes > host->max_memory_bytes))
        return resource_fail(e, o, c, bundle, false, true, s->memory_bytes < host->min_memory_bytes ? mem_min
                             : host->max_memory_bytes, "%s of memory: this Mac allows %s to %s",
                             human_size(have, sizeof have, s->memory_bytes),
                             human_size(lo, sizeof lo, host->min_memory_bytes),
                             human_size(hi, sizeof hi, host->max_memory_bytes));
    if (c->min_cpu_count && s->cpu_count < c->min_cpu_count)
        return resource_fail(e, o, c, bundle, true, false, c->min_cpu_count, "%u CPU%s %s fewer than the %u that %s "
                             "needs", s->cpu_count, s->cpu_count == 1 ? "" : "s", s->cpu_count == 1 ? "is" : "are",
                             c->min_cpu_count, installed_name(c));
    if (c->min_memory_bytes && s->memory_bytes < c->min_memory_bytes)
        return resource_fail(e, o, c, bundle, false, false, c->min_memory_bytes, "%s of memory is less than the %s "
                             "that %s needs", human_size(have, sizeof have, s->memory_bytes),
                             human_size(lo, sizeof lo, c->min_memory_bytes), installed_name(c));
    return 0;
}

/* Checks the options that contradict each other, whatever the bundle.
 * Returns 0 or EX_USAGE with *e. */
static int check_run_options(const struct run_options *o, struct error *e)
{
    if (o->dfu && o->recovery)
        return fail(e, EX_USAGE, "--dfu and --recovery exclude each other: pick one start mode");
    if (o->recovery + o->dfu + o->iboot_stage1 + o->iboot_stage2 > 1)
        return fail(e, EX_USAGE, "--iboot-stage1 and --iboot-stage2 exclude --recovery, --dfu and each other: "
                    "pick one start mode");
    if (o->debug_stub_all_interfaces && !o->debug_stub)
        return fail(e, EX_USAGE, "--debug-stub-all-interfaces needs --debug-stub");
    if (o->boot_args && strlen(o->boot_args) >= sizeof ((struct vm_spec *)0)->boot_args)
        return fail(e, EX_USAGE, "--boot-args is longer than the %zu bytes NVRAM takes",
                    sizeof ((struct vm_spec *)0)->boot_args - 1);
    for (const char *p = o->boot_args; p && *p; p++)   /* the kernel reads words; a newline would split the records */
        if ((unsigned char)*p < 0x20 || *p == 0x7f
            || ((unsigned char)p[0] == 0xC2 && (unsigned char)p[1] >= 0x80 && (unsigned char)p[1] < 0xA0))   /* C1 */
            return fail(e, EX_USAGE, "--boot-args has control characters; give words separated by spaces, "
                        "e.g. --boot-args \"debug=0x14e -v\"");
    /* The bridge hands NVRAM an NSString, which bytes that are not UTF-8 leave empty: that would clear the
     * boot-args the run says it sets. */
    if (o->boot_args && !is_utf8(o->boot_args))
        return fail(e, EX_USAGE, "--boot-args is not UTF-8 text (bytes from another encoding); give them as UTF-8, "
                    "e.g. --boot-args \"debug=0x14e -v\"");
    if (o->ephemeral && o->save_on_stop)
        return fail(e, EX_USAGE, "--save-on-stop saves into the disposable clone, which --ephemeral removes: "
                    "use one or the other");
    return 0;
}

/* Reads the record of the run in dir (its run.json) into a's tree.  Returns
 * its top dict, or NULL when there is none or it is damaged: a run killed
 * before its end has no record, and what reads one says so in its own way. */
static const struct plist *run_record_read(const char *dir, struct arena *a)
{
    autofree char *path = path_join(dir, "run.json");
    char *data;
    size_t len;
    struct error ignored = {0};
    if (read_file(path, SMALL_FILE_MAX, &data, &len, &ignored) != 0)
        return NULL;
    const struct plist *run = json_parse(data, len, a, NULL);
    free(data);
    return run && run->type == PLIST_DICT ? run : NULL;
}

/* The parts of a run's spec that make up the VM's configuration, which a
 * saved state restores only into (Virtualization's error 12), as spec_json
 * writes them into run.json, and where each comes from.  Not in it: what a run
 * does rather than what the VM is (start mode, --headless: the same graphics
 * device either way, boot-args in NVRAM, the debug stub's port and the logs).
 * The disk modes and the debug stub are in the configuration object, and
 * whether Virtualization compares them is not known: a needless refusal costs
 * a rerun, a failed restore costs the state.  A "?" path compares only whether
 * the member is set: the console's and serial port's logs are in each run's
 * own folder. */
static const struct { const char *path, *what; } saved_configuration[] = {
    {"cpu_count", "CPU count (--cpus)"},
    {"memory_bytes", "memory size (--memory)"},
    {"display", "display (DisplayWidth, DisplayHeight, DisplayPixelsPerInch in Config.plist)"},
    {"mac_address", "MAC address (MACAddress in Config.plist)"},
    {"keyboards", "keyboards (they follow the host's and the guest's macOS)"},
    {"pointing_devices", "pointing devices (they follow the host's and the guest's macOS)"},
    {"audio", "audio (--audio)"},
    {"disk", "disk modes (--disk-cache, --disk-sync)"},
    {"?console", "console (--console)"},
    {"?serial", "serial port (--serial)"},
    {"panic_action/action", "panic action (--panic)"},
    {"panic_action/panic_device", "panic device (--panic)"},
    {"shares", "shared folders (--share)"},
    {"debug_stub/enabled", "debug stub (--debug-stub)"},
};

/* Returns the member of spec at path ("a" or "a/b"), NULL when the record
 * lacks it; under a null parent (no panic action) the null itself, a known "none". */
static const struct plist *spec_member(const struct plist *spec, const char *path)
{
    const char *slash = strchr(path, '/');
    if (!slash)
        return plist_get(spec, path);
    char parent[64];
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
    const struct plist *p = plist_get(spec, parent);
    return p && p->type == PLIST_NULL ? p : p && p->type == PLIST_DICT ? plist_get(p, slash + 1) : NULL;
}

/* Returns whether two trees hold the same values (members of a dict in any order). */
static bool plist_equal(const struct plist *a, const struct plist *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case PLIST_DICT:
    case PLIST_ARRAY:
        if (a->count != b->count)
            return false;
        for (size_t i = 0; i < a->count; i++) {
            const struct plist *other = a->type == PLIST_DICT ? plist_get(b, a->keys[i]) : b->items[i];
            if (!other || !plist_equal(a->items[i], other))
                return false;
        }
        return true;
    case PLIST_STRING:
        return strcmp(a->string, b->string) == 0;
    case PLIST_DATA:
        return a->count == b->count && (a->count == 0 || memcmp(a->data, b->data, a->count) == 0);
    case PLIST_INTEGER:
        return a->magnitude == b->magnitude && a->negative == b->negative;
    case PLIST_REAL:
    case PLIST_DATE:
        return a->real == b->real;
    case PLIST_BOOL:
        return a->boolean == b->boolean;
    case PLIST_NULL:
        return true;
    }
    return false;
}

/* Appends to differ the parts of the configuration in which the recorded spec
 * and this run's (both as run.json has them) differ.  A part the record lacks
 * (an older macvm wrote it) is unknown and passes: refusing would leave the
 * user only the removal of the state, where the restore may well work. */
static void configuration_differences(const struct plist *recorded, const struct plist *now, struct buf *differ)
{
    for (size_t i = 0; i < sizeof saved_configuration / sizeof *saved_configuration; i++) {
        const char *path = saved_configuration[i].path;
        bool presence = path[0] == '?';
        const struct plist *was = spec_member(recorded, path + presence), *is = spec_member(now, path + presence);
        if (!was || !is)
            continue;
        bool same = presence ? (was->type == PLIST_NULL) == (is->type == PLIST_NULL) : plist_equal(was, is);
        if (!same)
            buf_printf(differ, "%s%s", differ->len ? ", " : "", saved_configuration[i].what);
    }
}

/* A saved state restores only into the configuration that saved it, and a
 * failed restore costs it (the bridge removes it, as Apple's sample does,
 * since the fresh start changes the disk).  So compare with the run that
 * saved it, as its run.json recorded, before anything starts.  Returns 0 (also
 * when no record says), or EX_CONFIG naming what differs and what restores. */
static int check_saved_state(const char *bundle, const struct vm_spec *s, struct error *e)
{
    struct buf text = {0}, differ = {0};
    struct json j = {.out = &text};
    struct arena mine = {0};
    spec_json(&j, NULL, s);
    const struct plist *now = json_parse(text.data, text.len, &mine, NULL);
    char **runs = NULL;
    size_t n = now ? bundle_runs(bundle, &runs) : 0;
    int rc = 0;
    for (size_t i = n; i-- > 0;) {
        struct arena a = {0};
        const struct plist *run = run_record_read(runs[i], &a), *spec = plist_dict(run, "spec");
        const char *result = run_string(run, "outcome", "result");
        bool saver = result && strcmp(result, "saved") == 0;
        uint64_t cpus = s->cpu_count, memory = s->memory_bytes;   /* unknown: not what differs */
        if (saver && spec) {
            configuration_differences(spec, now, &differ);
            plist_uint(spec, "cpu_count", 1024, &cpus);
            plist_uint(spec, "memory_bytes", UINT64_MAX, &memory);
        }
        if (differ.len)
            rc = fail(e, EX_CONFIG, "the saved state (SaveFile.vzvmsave) was made by a run whose configuration differs "
                      "from this one's in %s, and restores only into the configuration that saved it, so it is kept "
                      "and the VM not started: run with --cpus %" PRIu64 " --memory %" PRIu64 "M and the other options and "
                      "Config.plist values of the run that saved it (%s/run.json records them under \"spec\"), or "
                      "remove SaveFile.vzvmsave to start fresh", differ.data, cpus, memory >> 20, runs[i]);
        arena_free(&a);
        if (saver)
            break;   /* the newest saving run is the one that counts */
    }
    free_names(runs, n);
    arena_free(&mine);
    buf_free(&text);
    buf_free(&differ);
    return rc;
}

/* --- Seeing inside the guest: console, serial, panic, shared folders, screenshot --- */

#define SHARE_AUTOMOUNT_TAG "com.apple.virtio-fs.automount"  /* macOSGuestAutomountTag (13+) */
#define SHARE_TAG_12 "macvm"                                 /* macOS 12 guests mount it by hand */
#define SHARES_IN_GUEST "/Volumes/My Shared Files"
#define SCREENSHOT_TIMEOUT_MS 5000

/* Returns where this host takes the panic action: it moved from the private
 * start options (12.x) to _setPanicAction: of the start options (13 to 15)
 * to the configuration (26), as class dumps show.  Off a Mac: decided there. */
static enum vm_panic_path panic_path_for(const struct host_info *host)
{
    if (!host->available)
        return PANIC_VIA_NONE;
    return version_compare(host->os_version, "13") < 0 ? PANIC_VIA_START_OPTIONS_12
         : version_compare(host->os_version, "26") < 0 ? PANIC_VIA_START_OPTIONS : PANIC_VIA_CONFIGURATION;
}

static const char *panic_path_name(enum vm_panic_path p)
{
    static const char *names[] = {NULL, "start-options-12", "start-options", "configuration"};
    return names[p];
}

/* Resolves --share DIR[:ro|:rw] into *sh: the folder, which must exist, its
 * name in the guest, and whether the guest may only read it.  Returns 0, or
 * EX_NOINPUT or EX_USAGE with *e. */
static int share_resolve(const char *arg, struct vm_share *sh, struct error *e)
{
    size_t n = strlen(arg), mode = n > 3 && (!strcmp(arg + n - 3, ":ro") || !strcmp(arg + n - 3, ":rw")) ? 3 : 0;
    if (n == 0)   /* never taken for the current folder */
        return fail(e, EX_USAGE, "--share: the folder's path is empty; name a folder to share");
    autofree char *dir = check_alloc(strndup(arg, n - mode));
    autofree char *real = realpath(dir, NULL);
    int why = errno;
    if (!real && mode && is_directory(arg))   /* the folder's own name ends in :ro or :rw */
        return fail(e, EX_NOINPUT, "--share %s: %s; to share the folder %s, add its mode: --share %s:rw (or :ro)",
                    dir, strerror(why), arg, arg);
    if (!real)
        return fail(e, EX_NOINPUT, "--share %s: %s; name a folder that exists (a relative path is from the current "
                    "folder)", dir, strerror(why));
    if (!is_directory(real) || strcmp(real, "/") == 0)
        return fail(e, EX_USAGE, "--share %s: not a folder that can be shared; share a folder (not a file, not /)", dir);
    autofree char *name = path_base(real);
    if (!spec_set_path(sh->path, real, NULL) || strlen(name) >= sizeof sh->name)
        return fail(e, EX_USAGE, "--share %s: its path is longer than the %d bytes macvm takes (or its name than "
                    "%zu); share a folder with a shorter path", dir, VM_PATH_MAX - 1, sizeof sh->name - 1);
    if (!is_utf8(real))   /* the bridge's NSString of it would be empty: no folder, or another one */
        return fail(e, EX_USAGE, "--share %s: its path is not UTF-8 (a name from another encoding), which "
                    "Virtualization cannot take; share a folder whose path is UTF-8", dir);
    strcpy(sh->name, name);
    for (const char *p = sh->name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fail(e, EX_USAGE, "--share %s: its name has control characters, which the guest would show as its "
                        "folder's name; share a folder named plainly", dir);
    sh->read_only = mode && arg[n - 1] == 'o';
    return 0;
}

/* Fills the guest-inspection fields of *s: console, serial, panic action,
 * shared folders, screenshot.  The files get their paths once the run's
 * folder exists (run_vm).  Returns 0, or an exit code with *e. */
static int resolve_inspection(const struct run_options *o, const struct host_info *host, struct vm_spec *s,
                              struct error *e)
{
    s->console = o->console;
    s->serial = o->serial;
    s->panic_action = o->panic;
    if (o->panic) {
        /* Apple publishes no values: the peers that halt on panic (VirtualApple's
         * "halt on panic", super-tart's stopOnPanic) pass YES, 1, to the same
         * setters, on 12 (panicAction of the private start options) as on 13+ (a
         * long long); 0 is what a new options object holds, Virtualization's
         * default, under which the guest restarts. */
        s->panic_action_value = o->panic == PANIC_HALT ? 1 : 0;
        s->panic_path = panic_path_for(host);
        s->panic_device = host->available && version_compare(host->os_version, "14") >= 0;
    }
    for (unsigned i = 0; i < o->n_shares; i++) {
        int rc = share_resolve(o->shares[i], &s->shares[i], e);
        if (rc)
            return rc;
        const char *path = s->shares[i].path;
        if (!s->shares[i].read_only && (path_within(path, s->source_bundle) || path_within(s->source_bundle, path)))
            return fail(e, EX_USAGE, "--share %s: it overlaps the VM's bundle %s, so the guest could write its "
                        "own disk and records; share it read-only (%s:ro) or another folder", path, s->source_bundle,
                        path);
        for (unsigned k = 0; k < i; k++)
            if (strcmp(s->shares[k].path, path) == 0)
                return fail(e, EX_USAGE, "--share %s and --share %s are the same folder, %s: give it once (with :ro "
                            "to share it read-only)", o->shares[k], o->shares[i], path);
            else if (strcmp(s->shares[k].name, s->shares[i].name) == 0)
                return fail(e, EX_USAGE, "two shared folders named %s (%s and %s): the guest shows each by its name; "
                            "share one folder that holds both", s->shares[i].name, s->shares[k].path,
                            s->shares[i].path);
    }
    s->n_shares = o->n_shares;
    snprintf(s->share_tag, sizeof s->share_tag, "%s", host->available && version_compare(host->os_version, "13") < 0
             ? SHARE_TAG_12 : SHARE_AUTOMOUNT_TAG);
    if (o->screenshot && host->available && version_compare(host->os_version, "14") < 0)
        return fail(e, EX_UNAVAILABLE, "--screenshot needs macOS 14 or later on the host (this Mac runs %s)",
                    host->os_version);
    s->screenshot = o->screenshot;
    s->screenshot_timeout_ms = o->screenshot ? SCREENSHOT_TIMEOUT_MS : 0;
    return 0;
}

/* Returns the major version of a macOS version string ("14.5" -> 14), 0 when unknown. */
static unsigned macos_major(const char *version)
{
    return version && isdigit((unsigned char)version[0]) ? (unsigned)strtoul(version, NULL, 10) : 0;
}

/* Returns the installed macOS's version when it looks like one ("14.5"), else
 * NULL, unknown: Config.plist and an image's manifest are the user's files,
 * and their text goes into messages. */
static const char *guest_version(const struct vm_config *c)
{
    const char *v = c->installed_version;
    if (!isdigit((unsigned char)v[0]) || strspn(v, "0123456789.") != strlen(v))
        return NULL;
    return v;
}

/* Chooses the keyboards and pointing devices from the host's and the guest's
 * macOS (0: unknown).  Every guest gets a keyboard and a pointer it knows: the
 * Mac keyboard from macOS 14, the Mac trackpad from 13, where the host has
 * them; the USB ones only when the guest needs them, since a USB keyboard or
 * pointer keeps Virtualization from saving the run (Apple's save set has the
 * Mac keyboard and trackpad only).  A guest of unknown version gets both
 * kinds: a guest without a keyboard it knows is worse than a Quit that asks it
 * to shut down instead of saving.  An unknown host (a dry run off macOS) is
 * taken for a new one. */
static void decide_input_devices(struct vm_spec *s, unsigned host, unsigned guest)
{
    s->mac_keyboard = (!host || host >= 14) && (!guest || guest >= 14);
    s->usb_keyboard = !s->mac_keyboard || !guest;
    s->mac_trackpad = (!host || host >= 13) && (!guest || guest >= 13);
    s->usb_pointer = !s->mac_trackpad || !guest;
}

/* Returns NULL when Virtualization can save and restore a run of *s on host,
 * as macvm.c knows it (the bridge confirms with
 * validateSaveRestoreSupportWithError:); else why, with what to do (free
 * it).  One rule per fact of the host or device of the configuration that
 * keeps a VM from saving. */
static char *save_blocker(const struct vm_spec *s, const struct host_info *host, const struct vm_config *c)
{
    struct buf why = {0};
    /* macOS 14.x before 15.5 refuses to save or restore a configuration with a
     * console or a shared folder ("Unsupported console device in
     * configuration"); 15.5 accepts both. */
    bool console_bug = host->available && version_compare(host->os_version, "14") >= 0 &&
                       version_compare(host->os_version, "15.5") < 0;
    const char *device = !console_bug ? NULL : s->console ? "the console (--console)"
                       : s->n_shares ? "a shared folder (--share)" : NULL;
    if (host->available && !host->can_save_restore) {
        buf_printf(&why, "this Mac runs macOS %s, and saving a VM's state needs macOS 14 or later on the host",
                   host->os_version);
    } else if (device) {
        buf_printf(&why, "macOS %s cannot save or restore a VM with %s (\"Unsupported console device in "
                   "configuration\"; fixed in 15.5): leave it out of runs that save", host->os_version, device);
    } else if (s->usb_keyboard || s->usb_pointer) {
        autofree char *config = path_join(s->source_bundle, BUNDLE_CONFIG);
        struct buf fix = {0};
        if (access(config, F_OK) != 0) {
            buf_puts(&fix, "plutil -create xml1 ");
            shell_quote(&fix, config);
            buf_puts(&fix, " && ");
        }
        buf_puts(&fix, "plutil -replace InstalledProductVersion -string 14.0 ");
        shell_quote(&fix, config);
        const char *usb = s->usb_keyboard ? "keyboard" : "pointer";
        if (guest_version(c))
            buf_printf(&why, "macOS %s in the VM needs the USB %s, with which Virtualization cannot save a VM's "
                       "state (it saves the Mac keyboard and trackpad, which macOS 14+ guests know); if the VM runs "
                       "macOS 14 or later by now, record that: %s", guest_version(c), usb, fix.data);
        else
            buf_printf(&why, "the VM's macOS version is unknown (no usable InstalledProductVersion in Config.plist), "
                       "so it gets the USB %s as well, with which Virtualization cannot save a VM's state; if the VM "
                       "runs macOS 14 or later, record that: %s", usb, fix.data);
        buf_free(&fix);
    }
    return why.data;
}

/* Decides whether the run saves its state (on Quit, or at Ctrl-C with
 * --save-on-stop) and when not, why: what keeps the configuration from saving
 * (blocker, from save_blocker) first, then what the run is. */
static void decide_save(struct vm_spec *s, const char *blocker)
{
    char mode[128];
    snprintf(mode, sizeof mode, "a %s start is not saved: the next normal run would resume it",
             start_mode_name(s->start_mode));
    const char *why = blocker ? blocker
                    : s->start_mode != START_NORMAL ? mode
                    : s->ephemeral ? "a disposable run (--ephemeral) is removed when it stops: nothing to resume"
                    : s->headless && !s->save_on_stop ? "a headless run has no Quit; --save-on-stop saves at Ctrl-C"
                    : NULL;
    s->save_possible = !why;
    snprintf(s->save_why_not, sizeof s->save_why_not, "%s", why ? why : "");
    s->save_on_quit = s->save_possible && !s->headless;
}

/* --debug-stub and --serial need the private entitlement, without which
 * Virtualization says only "Internal Virtualization error".  A Mac without it
 * refuses them here, so --dry-run shows the refusal; off a Mac the dry run
 * describes them all the same.  Returns 0 or EX_UNAVAILABLE with *e. */
#define SIGN_PRIVATE_HINT "With SIP disabled and boot-args amfi_get_out_of_my_way=1, run 'make sign-private' " \
                          "(README: Debugging the guest)"

static int check_private_devices(const struct vm_spec *s, const struct host_info *host, struct error *e)
{
    if (!host->available || host->has_private_entitlement)
        return 0;
    if (s->debug_stub)
        return fail(e, EX_UNAVAILABLE, "--debug-stub needs the com.apple.private.virtualization entitlement, which "
                    "this macvm lacks; Virtualization would only say \"Internal Virtualization error\".  "
                    SIGN_PRIVATE_HINT);
    if (s->serial)
        return fail(e, EX_UNAVAILABLE, "--serial (experimental) is a restricted device: it needs the "
                    "com.apple.private.virtualization entitlement, which this macvm lacks; macOS 13 refuses to start "
                    "the VM with \"Internal Virtualization error\".  " SIGN_PRIVATE_HINT);
    return 0;
}

/* Resolves the one description of a run from the options (which passed
 * check_run_options), the bundle's configuration and the host, and validates
 * it.  Decides every value the bridge will use.  Returns 0, or EX_USAGE,
 * EX_CONFIG or EX_UNAVAILABLE with *e. */
static int resolve_vm_spec(const struct run_options *o, const char *bundle, const struct vm_config *c,
                           uint64_t ecid, const struct host_info *host, struct vm_spec *s, struct error *e)
{
    *s = (struct vm_spec){0};
    int rc = bundle_fits(bundle, e);
    if (rc)
        return rc;
    s->start_mode = o->recovery ? START_RECOVERY : o->dfu ? START_DFU : o->iboot_stage1 ? START_IBOOT_STAGE1
                  : o->iboot_stage2 ? START_IBOOT_STAGE2 : START_NORMAL;

    spec_set_path(s->source_bundle, bundle, NULL);
    autofree char *folder = ephemeral_folder(bundle);
    autofree char *clone = ephemeral_clone_path(folder, bundle);
    spec_set_bundle(s, o->ephemeral ? clone : bundle);

    /* Apple's defaults give way to what the installed macOS needs; values the user chose do not. */
    s->cpu_count = o->cpu_count ? o->cpu_count : (c->set & CONFIG_CPU) ? c->cpu_count : default_cpu_count(c, host);
    s->memory_bytes = o->memory_bytes ? o->memory_bytes : (c->set & CONFIG_MEMORY) ? c->memory_bytes
                    : default_memory_size(c, host);
    if ((rc = check_resources(s, host, c, o, e)))
        return rc;
    s->display_width = c->display_width;
    s->display_height = c->display_height;
    s->display_ppi = c->display_ppi;
    snprintf(s->mac_address, sizeof s->mac_address, "%s", c->mac_address);

    s->debug_stub = o->debug_stub;
    s->debug_stub_port = o->debug_stub_port;
    s->debug_stub_all_interfaces = o->debug_stub_all_interfaces;
    s->set_boot_args = o->boot_args != NULL;
    snprintf(s->boot_args, sizeof s->boot_args, "%s", o->boot_args ? o->boot_args : "");
    s->disk_caching = o->disk_caching;
    s->disk_sync = o->disk_sync;
    s->headless = o->headless;
    decide_input_devices(s, host->available ? macos_major(host->os_version) : 0, macos_major(guest_version(c)));
    s->audio = o->audio;
    s->ephemeral = o->ephemeral;
    s->capture_log = !o->no_log;
    s->ecid = ecid;
    if ((rc = resolve_inspection(o, host, s, e)))
        return rc;

    autofree char *save = path_join(bundle, BUNDLE_SAVE_FILE);
    bool saved = access(save, F_OK) == 0;
    if (saved && s->start_mode != START_NORMAL)
        return fail(e, EX_USAGE, "the bundle has a saved state (SaveFile.vzvmsave), and a %s start would leave it "
                    "stale against the disk: run it normally first, or remove SaveFile.vzvmsave to discard it",
                    start_mode_name(s->start_mode));
    if (host->available && !host->can_save_restore && o->save_on_stop)
        return fail(e, EX_UNAVAILABLE, "--save-on-stop needs macOS 14 or later on the host (this Mac runs %s)",
                    host->os_version);
    if (host->available && !host->can_save_restore && saved)
        return fail(e, EX_UNAVAILABLE, "the bundle has a saved state (SaveFile.vzvmsave) that only macOS 14 or later "
                    "can restore, and this Mac runs %s; a fresh start would leave it stale against the disk: run it "
                    "on macOS 14+, or remove SaveFile.vzvmsave to discard it", host->os_version);
    autofree char *blocker = save_blocker(s, host, c);
    if (saved && blocker)
        return fail(e, EX_CONFIG, "the bundle has a saved state (SaveFile.vzvmsave) that this run could not "
                    "restore, so it is kept and the VM not started: %s; or remove SaveFile.vzvmsave to start fresh",
                    blocker);
    if (o->save_on_stop && blocker)
        return fail(e, EX_CONFIG, "--save-on-stop: %s", blocker);
    if (o->save_on_stop && s->start_mode != START_NORMAL)
        return fail(e, EX_USAGE, "--save-on-stop saves only normal starts (the next normal run would resume "
                    "this --%s one): use one or the other", start_mode_name(s->start_mode));
    s->restore_saved_state = saved;
    if (saved && (rc = check_saved_state(bundle, s, e)))
        return rc;
    s->save_on_stop = o->save_on_stop;
    /* Quit saves where the run can, as Apple's sample does. */
    decide_save(s, blocker);
    if ((rc = check_private_devices(s, host, e)))
        return rc;

    autofree char *name = path_base(bundle);
    if (s->start_mode == START_DFU)
        snprintf(s->title, sizeof s->title, "%.160s \xE2\x80\x94 DFU (ECID %s), waiting as a USB DFU device",
                 name, ecid_text(ecid).s);
    else if (s->start_mode != START_NORMAL)
        snprintf(s->title, sizeof s->title, "%.160s \xE2\x80\x94 %s", name, start_mode_title(s->start_mode));
    else
        snprintf(s->title, sizeof s->title, "%.200s", name);
    return 0;
}

/* Returns the port a debugger attaches to: the one the running stub reported
 * (reported; 0 when this macOS did not say), else the one asked for with
 * --debug-stub PORT, else 0, unknown.  *source says which, for run.json. */
static unsigned debug_stub_port(const struct vm_spec *spec, unsigned reported, const char **source)
{
    *source = reported ? "reported" : spec->debug_stub_port ? "requested" : "unknown";
    return reported ? reported : spec->debug_stub_port;
}

/* Appends {"log": PATH} for a console or serial port that is on (PATH is the
 * file's name alone before the run's folder exists: a dry run), else null. */
static void port_json(struct json *j, const char *key, bool on, const char *path, const char *file)
{
    if (!on) {
        json_null(j, key);
        return;
    }
    json_open(j, key, '{');
    json_str(j, "log", path[0] ? path : file);
    json_close(j, '}');
}

/* Appends the console, serial, panic action, shared folders and screenshot of the spec. */
static void inspection_json(struct json *j, const struct vm_spec *s)
{
    port_json(j, "console", s->console, s->console_log, "console.log");
    port_json(j, "serial", s->serial, s->serial_log, "serial.log");
    if (s->panic_action) {
        json_open(j, "panic_action", '{');
        json_str(j, "action", s->panic_action == PANIC_HALT ? "halt" : "restart");
        json_int(j, "value", s->panic_action_value);
        json_str(j, "via", panic_path_name(s->panic_path));
        json_bool(j, "panic_device", s->panic_device);
        json_close(j, '}');
    } else {
        json_null(j, "panic_action");
    }
    json_open(j, "shares", '[');
    for (unsigned i = 0; i < s->n_shares; i++) {
        autofree char *guest = path_join(SHARES_IN_GUEST, s->shares[i].name);
        json_open(j, NULL, '{');
        json_str(j, "path", s->shares[i].path);
        json_str(j, "name", s->shares[i].name);
        json_bool(j, "read_only", s->shares[i].read_only);
        json_str(j, "tag", s->share_tag);
        json_str(j, "guest_path", strcmp(s->share_tag, SHARE_AUTOMOUNT_TAG) == 0 ? guest : NULL);
        json_close(j, '}');
    }
    json_close(j, ']');
    if (s->screenshot) {
        json_open(j, "screenshot", '{');
        json_str(j, "file", s->screenshot_path[0] ? s->screenshot_path : "screen.png");
        json_uint(j, "timeout_ms", s->screenshot_timeout_ms);
        json_close(j, '}');
    } else {
        json_null(j, "screenshot");
    }
}

/* Appends the spec as the JSON object --dry-run --json prints and run.json keeps. */
static void spec_json(struct json *j, const char *key, const struct vm_spec *s)
{
    json_open(j, key, '{');
    json_str(j, "bundle", s->bundle);
    json_str(j, "source_bundle", s->source_bundle);
    json_str(j, "disk_image", s->disk_image);
    json_str(j, "auxiliary_storage", s->auxiliary_storage);
    json_str(j, "hardware_model", s->hardware_model);
    json_str(j, "machine_identifier", s->machine_identifier);
    json_str(j, "save_file", s->save_file);
    json_open(j, "disk", '{');
    json_str(j, "caching", disk_caching_names[s->disk_caching]);
    json_str(j, "sync", disk_sync_names[s->disk_sync]);
    json_close(j, '}');
    json_uint(j, "cpu_count", s->cpu_count);
    json_uint(j, "memory_bytes", s->memory_bytes);
    json_open(j, "display", '{');
    json_uint(j, "width", s->display_width);
    json_uint(j, "height", s->display_height);
    json_uint(j, "pixels_per_inch", s->display_ppi);
    json_close(j, '}');
    json_str(j, "network", "nat");
    json_str(j, "mac_address", s->mac_address[0] ? s->mac_address : NULL);
    json_str(j, "start_mode", start_mode_name(s->start_mode));
    json_open(j, "debug_stub", '{');
    json_bool(j, "enabled", s->debug_stub);
    if (s->debug_stub && s->debug_stub_port)
        json_uint(j, "port", s->debug_stub_port);
    else
        json_null(j, "port");
    json_bool(j, "all_interfaces", s->debug_stub_all_interfaces);
    json_close(j, '}');
    json_str(j, "boot_args", s->set_boot_args ? s->boot_args : NULL);
    json_bool(j, "headless", s->headless);
    json_open(j, "keyboards", '[');
    if (s->mac_keyboard)
        json_str(j, NULL, "mac");
    if (s->usb_keyboard)
        json_str(j, NULL, "usb");
    json_close(j, ']');
    json_open(j, "pointing_devices", '[');
    if (s->mac_trackpad)
        json_str(j, NULL, "mac");
    if (s->usb_pointer)
        json_str(j, NULL, "usb");
    json_close(j, ']');
    json_bool(j, "audio", s->audio);
    json_open(j, "save", '{');
    json_bool(j, "possible", s->save_possible);
    json_str(j, "why_not", s->save_possible ? NULL : s->save_why_not);
    json_close(j, '}');
    json_bool(j, "restore_saved_state", s->restore_saved_state);
    json_bool(j, "save_on_stop", s->save_on_stop);
    json_bool(j, "save_on_quit", s->save_on_quit);
    json_bool(j, "ephemeral", s->ephemeral);
    json_bool(j, "capture_log", s->capture_log);
    json_str(j, "ecid", ecid_text(s->ecid).s);
    json_str(j, "title", s->title);
    inspection_json(j, s);
    json_close(j, '}');
}

/* Appends one line of the description whose value comes from a path (a
 * path, the window's title): escaped, so a name with a newline or ESC stays
 * on its line and draws nothing. */
static void spec_path(struct buf *b, const char *label, const char *path, const char *after)
{
    buf_puts(b, label);
    buf_text(b, path);
    buf_puts(b, after);
}

/* Appends the spec for people: what the bridge would be asked to do, and
 * where the CPUs and memory came from. */
static void spec_text(struct buf *b, const struct vm_spec *s, const struct vm_config *c, const struct run_options *o,
                      const struct host_info *host)
{
    char mem[32];
    spec_path(b, "bundle              ", s->source_bundle, "\n");
    if (s->ephemeral)
        spec_path(b, "runs from           ", s->bundle, " (a disposable clone, removed when the VM stops)\n");
    spec_path(b, "disk image          ", s->disk_image, "\n");
    buf_printf(b, "disk modes          caching %s, sync %s%s\n", disk_caching_names[s->disk_caching],
               disk_sync_names[s->disk_sync], s->disk_caching || s->disk_sync ? "" : " (Apple's defaults)");
    spec_path(b, "auxiliary storage   ", s->auxiliary_storage, "\n");
    spec_path(b, "hardware model      ", s->hardware_model, "\n");
    spec_path(b, "machine identifier  ", s->machine_identifier, "");
    buf_printf(b, " (ECID %s)\n", ecid_text(s->ecid).s);
    buf_printf(b, "CPUs                %u%s\n", s->cpu_count,
               value_origin(o->cpu_count, c->set & CONFIG_CPU, default_cpu_count(c, host) > compute_cpu_count(host), true));
    buf_printf(b, "memory              %s%s\n", human_size(mem, sizeof mem, s->memory_bytes),
               value_origin(o->memory_bytes, c->set & CONFIG_MEMORY,
                            default_memory_size(c, host) > compute_memory_size(host), false));
    buf_printf(b, "display             %ux%u at %u ppi\n", s->display_width, s->display_height, s->display_ppi);
    buf_printf(b, "network             NAT, MAC %s\n", s->mac_address[0] ? s->mac_address : "chosen by Virtualization");
    buf_printf(b, "start mode          %s\n", start_mode_name(s->start_mode));
    if (s->debug_stub && s->debug_stub_port)
        buf_printf(b, "debug stub          GDB stub on port %u, %s\n", s->debug_stub_port,
                   s->debug_stub_all_interfaces ? "all network interfaces" : "127.0.0.1 only");
    else if (s->debug_stub)
        buf_printf(b, "debug stub          GDB stub on a port the system chooses, %s\n",
                   s->debug_stub_all_interfaces ? "all network interfaces" : "127.0.0.1 only");
    else
        buf_puts(b, "debug stub          none\n");
    if (s->set_boot_args && s->boot_args[0])
        buf_printf(b, "NVRAM boot-args     set to \"%s\"\n", s->boot_args);
    else if (s->set_boot_args)
        buf_puts(b, "NVRAM boot-args     cleared\n");
    else
        buf_puts(b, "NVRAM boot-args     left as they are\n");
    spec_path(b, "window              ", s->headless ? "none (headless)" : s->title, "\n");
    buf_printf(b, "keyboards           %s%s%s\n", s->mac_keyboard ? "Mac" : "", s->mac_keyboard && s->usb_keyboard
               ? ", " : "", s->usb_keyboard ? "USB" : "");
    buf_printf(b, "pointing devices    %s%s%s\n", s->mac_trackpad ? "Mac trackpad" : "",
               s->mac_trackpad && s->usb_pointer ? ", " : "", s->usb_pointer ? "USB pointer" : "");
    buf_printf(b, "audio               %s\n", s->audio ? "on" : "off");
    buf_printf(b, "saved state         %s\n", s->restore_saved_state ? "restore from SaveFile.vzvmsave" : "none");
    if (s->save_possible)
        buf_printf(b, "save                yes: %s\n", s->save_on_stop && s->save_on_quit ? "Quit and Ctrl-C save the state"
                   : s->save_on_stop ? "Ctrl-C saves the state" : "the window's Quit saves the state");
    else
        buf_printf(b, "save                no: %s\n", s->save_why_not);
    buf_printf(b, "console             %s\n", s->console ? "virtio console (the guest's /dev/cu.virtio) to "
               "<run folder>/console.log" : "none");
    buf_printf(b, "serial              %s\n", s->serial ? "PL011 UART (experimental, private) to <run folder>/serial.log"
                                                       : "none");
    if (s->panic_action)
        buf_printf(b, "on panic            %s (experimental, private: value %lld%s%s%s)\n",
                   s->panic_action == PANIC_HALT ? "halt" : "restart", s->panic_action_value,
                   s->panic_path ? " via " : ", the path is decided on the Mac",
                   s->panic_path ? panic_path_name(s->panic_path) : "", s->panic_device ? ", with a panic device" : "");
    else
        buf_puts(b, "on panic            Virtualization's default (the guest restarts)\n");
    bool automount = strcmp(s->share_tag, SHARE_AUTOMOUNT_TAG) == 0;
    for (unsigned i = 0; i < s->n_shares; i++) {
        spec_path(b, "shared folder       ", s->shares[i].path,
                  s->shares[i].read_only ? ", read-only" : ", read-write");
        buf_printf(b, ", in the guest %s%s%s\n", automount ? SHARES_IN_GUEST "/" : "by hand: mount_virtiofs ",
                   automount ? s->shares[i].name : s->share_tag, automount ? "" : " DIR");
    }
    if (!s->n_shares)
        buf_puts(b, "shared folder       none\n");
    buf_printf(b, "screenshot          %s\n", s->screenshot ? "experimental: <run folder>/screen.png when an error or "
               "Ctrl-C ends the run" : "none");
    buf_printf(b, "log capture         %s\n", !s->capture_log ? "off" : s->ephemeral
               ? "on (NAME.ephemeral-logs/<start time>/vz.ndjson, beside the bundle)" : "on (logs/<start time>/vz.ndjson)");
}

/* --- The record of a run: run.json --- */

struct run_record {
    const char *kind;                   /* "run" or "install" */
    char *dir;                          /* its run folder (free it), NULL without one */
    time_t started, stopped;
    long long start_ms;                 /* from bridge_run until the VM ran; -1: it did not start */
    int status;                         /* bridge_run's (or bridge_install's) answer */
    struct run_outcome outcome;
    struct bridge_error installer_error;   /* what the installer's log names (domain "" when nothing) */
    const char *advice;
    char *held_by;                      /* who holds a lock the error names (NULL when none or unknown) */
    bool logged;
};

/* What Virtualization's save check said, as run.json keeps it. */
static const char *const save_check_names[] = {"not-asked", "supported", "refused"};

/* Returns the outcome's short name for run.json and info. */
static const char *outcome_name(const struct run_record *r)
{
    if (r->status == BRIDGE_INTERRUPTED)
        return "interrupted";
    if (r->status == BRIDGE_UNAVAILABLE)
        return "unavailable";
    if (r->status != BRIDGE_OK)
        return "error";
    if (strcmp(r->kind, "install") == 0)
        return "installed";
    return r->outcome.saved_state ? "saved" : r->outcome.guest_stopped ? "guest-stopped" : "forced-stop";
}

static void error_json(struct json *j, const char *key, const struct bridge_error *err)
{
    json_open(j, key, '{');
    json_str(j, "domain", err->domain);
    json_int(j, "code", err->code);
    json_str(j, "message", err->message);
    json_close(j, '}');
}

struct probe;
static void probe_json(struct json *j, const char *key, const struct probe *p);

/* Writes run.json into the run's folder, with what the host could do (probe).
 * Returns 0 or an exit code. */
static int run_record_write(const struct run_record *r, const struct vm_spec *s, const struct host_info *host,
                            const struct probe *probe, const struct vm_config *c, int argc, char **argv,
                            struct error *e)
{
    struct buf b = {0};
    struct json j = {.out = &b};
    char t[64], version[128];
    json_open(&j, NULL, '{');
    json_str(&j, "macvm_version", MACVM_VERSION);
    json_str(&j, "kind", r->kind);
    json_open(&j, "command", '[');
    for (int i = 0; i < argc; i++)
        json_str(&j, NULL, argv[i]);
    json_close(&j, ']');
    spec_json(&j, "spec", s);
    json_open(&j, "host", '{');
    json_str(&j, "os_version", host->os_version);
    json_str(&j, "os_build", host->os_build);
    json_str(&j, "model", host->model);
    json_str(&j, "chip", host->chip);
    json_str(&j, "virtualization_version",
             framework_version("", "Frameworks/Virtualization", version, sizeof version) ? version : NULL);
    json_str(&j, "pvg_version",
             framework_version("", "Frameworks/ParavirtualizedGraphics", version, sizeof version) ? version : NULL);
    json_close(&j, '}');
    probe_json(&j, "probe", probe);
    json_open(&j, "guest", '{');
    json_str(&j, "product_version", c->installed_version[0] ? c->installed_version : NULL);
    json_str(&j, "build", c->installed_build[0] ? c->installed_build : NULL);
    json_close(&j, '}');
    json_str(&j, "started", iso_time(t, sizeof t, r->started));
    json_str(&j, "stopped", iso_time(t, sizeof t, r->stopped));
    json_int(&j, "started_unix", (long long)r->started);
    json_int(&j, "stopped_unix", (long long)r->stopped);
    json_open(&j, "outcome", '{');
    json_str(&j, "result", outcome_name(r));
    if (r->status == BRIDGE_FAILED || r->status == BRIDGE_UNAVAILABLE)
        error_json(&j, "error", &r->outcome.error);
    if (r->installer_error.domain[0])
        error_json(&j, "installer_error", &r->installer_error);
    json_str(&j, "advice", r->advice);
    json_bool(&j, "vm_started", r->start_ms >= 0);
    if (r->start_ms >= 0)
        json_int(&j, "start_ms", r->start_ms);
    else
        json_null(&j, "start_ms");
    json_str(&j, "held_by", r->held_by);
    json_bool(&j, "restored_state", r->outcome.restored_state);
    json_bool(&j, "restore_attempted", r->outcome.restore_attempted);
    json_bool(&j, "restore_refused", r->outcome.restore_refused);
    json_str(&j, "restore_failure", r->outcome.restore_failure[0] ? r->outcome.restore_failure : NULL);
    json_str(&j, "save_failure", r->outcome.save_failure[0] ? r->outcome.save_failure : NULL);
    json_str(&j, "save_check", save_check_names[r->outcome.save_check]);
    json_str(&j, "network_disconnected", r->outcome.network_disconnected[0] ? r->outcome.network_disconnected : NULL);
    if (s->debug_stub) {
        const char *source;
        unsigned port = debug_stub_port(s, r->outcome.debug_stub_port, &source);
        if (port)
            json_uint(&j, "debug_stub_port", port);
        else
            json_null(&j, "debug_stub_port");
        json_str(&j, "debug_stub_port_source", source);
    }
    if (s->screenshot) {
        json_str(&j, "screenshot", r->outcome.screenshot_taken ? "screen.png" : NULL);
        json_str(&j, "screenshot_failure", r->outcome.screenshot_failure[0] ? r->outcome.screenshot_failure : NULL);
    }
    json_close(&j, '}');
    json_str(&j, "log", r->logged ? "vz.ndjson" : NULL);
    json_close(&j, '}');
    buf_add(&b, "\n", 1);
    autofree char *path = path_join(r->dir, "run.json");
    int rc = write_file_atomic(path, b.data, b.len, true, e);
    buf_free(&b);
    if (rc != 0) {
        fail_prefix(e, path);
        fail_advice(e, r->logged ? "the log beside it is kept, and 'macvm feedback' reports from it"
                                 : "'macvm feedback' reports it as not recorded");
    }
    return rc;
}

/* ========================== 3. Restore images =========================== */

/* What BuildManifest.plist says about an IPSW.  An image installs in a VM
 * when it lists VirtualMac2,1 and has a build identity whose Info.DeviceClass
 * is vma2macosap; that identity's Info carries the VM's minimums. */
#define MANIFEST_NAME "BuildManifest.plist"
#define MANIFEST_MAX (64u << 20)        /* real manifests are a few MiB at most */
#define VM_PRODUCT_TYPE "VirtualMac2,1"
#define VM_DEVICE_CLASS "vma2macosap"

struct ipsw_info {
    struct arena arena;                 /* owns the manifest tree the strings point into */
    const char *product_version, *build;
    const struct plist *product_types;  /* array of strings */
    bool lists_virtual_mac, has_vm_identity;
    const char *min_host_os;            /* NULL when the image has no VM identity */
    uint64_t min_cpu_count, min_memory_mb;
    bool has_min_cpu, has_min_memory;
    const char *mobile_device_min_version;
    uint64_t size_bytes, entries, bytes_read;
};

static bool ipsw_vm_capable(const struct ipsw_info *info)
{
    return info->lists_virtual_mac && info->has_vm_identity;
}

/* Picks the first VM build identity out of the manifest's BuildIdentities. */
static const struct plist *manifest_vm_info(const struct plist *manifest)
{
    const struct plist *ids = plist_get(manifest, "BuildIdentities");
    for (size_t i = 0; ids && ids->type == PLIST_ARRAY && i < ids->count; i++) {
        const struct plist *info = plist_get(ids->items[i], "Info");
        const char *cls = plist_string(info, "DeviceClass");
        if (cls && strcasecmp(cls, VM_DEVICE_CLASS) == 0)
            return info;
    }
    return NULL;
}

/* Reads what macvm needs from a parsed manifest.  Returns 0 or EX_DATAERR. */
static int manifest_decode(const struct plist *m, struct ipsw_info *info, struct error *e)
{
    if (m->type != PLIST_DICT)
        return fail(e, EX_DATAERR, "BuildManifest.plist is a %s, not a dict", plist_type_name(m->type));
    info->product_version = plist_string(m, "ProductVersion");
    info->build = plist_string(m, "ProductBuildVersion");
    if (!info->product_version || !info->build)
        return fail(e, EX_DATAERR, "BuildManifest.plist lacks ProductVersion or ProductBuildVersion "
                    "(not a restore image?)");
    info->product_types = plist_get(m, "SupportedProductTypes");
    if (info->product_types && info->product_types->type != PLIST_ARRAY)
        info->product_types = NULL;
    for (size_t i = 0; info->product_types && i < info->product_types->count; i++) {
        const struct plist *t = info->product_types->items[i];
        if (t->type == PLIST_STRING && strcmp(t->string, VM_PRODUCT_TYPE) == 0)
            info->lists_virtual_mac = true;
    }
    const struct plist *vm = manifest_vm_info(m);
    info->has_vm_identity = vm != NULL;
    if (vm) {
        info->min_host_os = plist_string(vm, "VirtualMachineMinHostOS");
        info->has_min_cpu = plist_uint(vm, "VirtualMachineMinCPUCount", 1024, &info->min_cpu_count);
        info->has_min_memory = plist_uint(vm, "VirtualMachineMinMemorySizeMB", UINT32_MAX, &info->min_memory_mb);
        info->mobile_device_min_version = plist_string(vm, "MobileDeviceMinVersion");
    }
    return 0;
}

/* Inspects a restore image: end records, central directory, one manifest.
 * Returns 0, or EX_NOINPUT / EX_DATAERR with *e saying what is wrong. */
static int ipsw_inspect(const char *path, struct ipsw_info *info, struct error *e)
{
    struct zip z;
    struct zip_entry ent;
    bool found;
    char *manifest = NULL;
    size_t len;
    *info = (struct ipsw_info){0};
    int rc = zip_open(&z, path, e);
    if (rc == 0)
        rc = zip_find(&z, MANIFEST_NAME, &ent, &found, e);
    if (rc == 0 && !found)
        rc = fail(e, EX_DATAERR, "no BuildManifest.plist: a zip, but not a macOS restore image");
    if (rc == 0)
        rc = zip_extract(&z, &ent, MANIFEST_MAX, &manifest, &len, e);
    info->size_bytes = z.size;
    info->entries = z.entries;
    info->bytes_read = z.bytes_read;
    zip_close(&z);
    if (rc)
        return rc;
    /* The per-component Manifest dicts are most of a manifest's bytes, and macvm reads none of them. */
    struct error pe = {0};
    struct plist *root = len >= 6 && memcmp(manifest, "bplist", 6) == 0
                       ? plist_parse(manifest, len, &info->arena, &pe)
                       : plist_parse_xml(manifest, len, &info->arena, &pe, "Manifest");
    free(manifest);
    if (!root)
        return fail(e, EX_DATAERR, "BuildManifest.plist is not a property list (%s)", pe.text);
    return manifest_decode(root, info, e);
}

static void ipsw_free(struct ipsw_info *info)
{
    arena_free(&info->arena);
}

/* Writes the inspection as the documented JSON object. */
static void ipsw_json(struct buf *out, const char *path, const struct ipsw_info *info)
{
    struct json j = {.out = out};
    json_open(&j, NULL, '{');
    json_str(&j, "file", path);
    json_str(&j, "product_version", info->product_version);
    json_str(&j, "build", info->build);
    json_open(&j, "supported_product_types", '[');
    for (size_t i = 0; info->product_types && i < info->product_types->count; i++)
        if (info->product_types->items[i]->type == PLIST_STRING)
            json_str(&j, NULL, info->product_types->items[i]->string);
    json_close(&j, ']');
    json_open(&j, "virtual_machine", '{');
    json_bool(&j, "supported", ipsw_vm_capable(info));
    json_str(&j, "min_host_os", info->min_host_os);
    if (info->has_min_cpu)
        json_uint(&j, "min_cpu_count", info->min_cpu_count);
    else
        json_null(&j, "min_cpu_count");
    if (info->has_min_memory)
        json_uint(&j, "min_memory_mb", info->min_memory_mb);
    else
        json_null(&j, "min_memory_mb");
    json_close(&j, '}');
    json_str(&j, "mobile_device_min_version", info->mobile_device_min_version);
    json_uint(&j, "size_bytes", info->size_bytes);
    json_uint(&j, "entries", info->entries);
    json_close(&j, '}');
}

/* Writes the inspection for people.  host_os is this Mac's version, or NULL off macOS. */
static void ipsw_text(struct buf *out, const char *path, const struct ipsw_info *info, const char *host_os)
{
    char size[32];
    buf_printf(out, "File:              %s\n", path);
    if (info->size_bytes < 1024)
        buf_printf(out, "Size:              %" PRIu64 " bytes, %" PRIu64 " entries\n", info->size_bytes, info->entries);
    else
        buf_printf(out, "Size:              %s (%" PRIu64 " bytes), %" PRIu64 " entries\n",
                   human_size(size, sizeof size, info->size_bytes), info->size_bytes, info->entries);
    buf_printf(out, "Version:           %s (%s)\n", info->product_version, info->build);
    buf_puts(out, "Product types:     ");
    for (size_t i = 0; info->product_types && i < info->product_types->count; i++)
        if (info->product_types->items[i]->type == PLIST_STRING)
            buf_printf(out, "%s%s", i ? ", " : "", info->product_types->items[i]->string);
    buf_puts(out, "\n");
    if (ipsw_vm_capable(info)) {
        buf_puts(out, "Virtual machine:   yes (lists " VM_PRODUCT_TYPE ", has a " VM_DEVICE_CLASS " build identity)\n");
    } else {
        buf_printf(out, "Virtual machine:   no (%s)\n",
                   !info->lists_virtual_mac ? "does not list " VM_PRODUCT_TYPE
                                            : "has no " VM_DEVICE_CLASS " build identity");
    }
    if (info->has_vm_identity) {
        buf_printf(out, "  min host macOS:  %s\n", info->min_host_os ? info->min_host_os : "(not stated)");
        if (info->has_min_cpu)
            buf_printf(out, "  min CPUs:        %" PRIu64 "\n", info->min_cpu_count);
        if (info->has_min_memory)
            buf_printf(out, "  min memory:      %" PRIu64 " MB\n", info->min_memory_mb);
    }
    if (info->mobile_device_min_version)
        buf_printf(out, "MobileDevice:      %s or later on the host (Xcode's device support brings it)\n",
                   info->mobile_device_min_version);
    if (host_os && info->min_host_os)
        buf_printf(out, "This Mac:          macOS %s %s %s (a hint: Virtualization decides when it loads the image)\n",
                   host_os, version_compare(host_os, info->min_host_os) >= 0 ? "meets" : "is older than",
                   info->min_host_os);
}

/* =============================== 4. Logs ================================ */

/* Virtualization logs through the unified log: its XPC service process, and
 * paravirtualized graphics (PVG) under its own subsystem; an installation
 * also through the installer's process.  macvm records them during every run
 * and install with `log stream` and reads three styles back:
 * ndjson (`log stream/show --style ndjson`, one object a line after a text
 * header), one JSON array (`--style json`), and `log show`'s default text. */
#define INSTALLER_PROCESS "com.apple.Virtualization.Installation"
#define PVG_SUBSYSTEM "com.apple.gpusw.ParavirtualizedGraphics"
#define PVG_NEEDLE "ParavirtualizedGraphics"    /* in every PVG line, in every style */
#define LOG_PREDICATE                                                             \
    "subsystem == \"" PVG_SUBSYSTEM "\" OR "                                     \
    "process == \"com.apple.Virtualization.VirtualMachine\" OR "                  \
    "process == \"" INSTALLER_PROCESS "\" OR "                                   \
    "subsystem BEGINSWITH[c] \"com.apple.virtualization\""
#ifndef LOG_BLOCK   /* the fuzz target makes both small, so short inputs cross their edges */
#define LOG_RECORD_MAX (1u << 20)               /* longer records are skipped and counted */
#define LOG_BLOCK (4u << 20)
#endif

/* One unified-log event, as far as macvm reads it.  Strings may be "". */
struct log_event {
    const char *timestamp, *subsystem, *category, *message, *type, *process;
};

struct log_stats {
    uint64_t records;       /* lines (or array objects) seen */
    uint64_t events;        /* of those, parsed and handed on */
    uint64_t malformed;     /* candidate records that did not parse */
    uint64_t oversized;     /* records over LOG_RECORD_MAX */
};

struct log_scan {
    const char *needle;     /* only records containing it are parsed (NULL: all) */
    void (*fn)(void *ctx, const struct log_event *ev);
    void *ctx;
    struct log_stats stats;
};

static const char *const log_json_fields[] = {
    "timestamp", "subsystem", "category", "eventMessage", "messageType", "processImagePath", NULL,
};

/* Parses one JSON log object and hands it on.  Returns false when malformed. */
static bool log_json_record(struct log_scan *s, const char *p, size_t n)
{
    struct arena a = {0};
    struct plist *o = json_parse(p, n, &a, log_json_fields);
    bool ok = o && o->type == PLIST_DICT;
    if (ok) {
        struct log_event ev = {
            .timestamp = plist_string_or_empty(o, "timestamp"),
            .subsystem = plist_string_or_empty(o, "subsystem"),
            .category = plist_string_or_empty(o, "category"),
            .message = plist_string_or_empty(o, "eventMessage"),
            .type = plist_string_or_empty(o, "messageType"),
            .process = plist_string_or_empty(o, "processImagePath"),
        };
        s->stats.events++;
        s->fn(s->ctx, &ev);
    }
    arena_free(&a);
    return ok;
}

/* Parses one line of `log show`'s text style:
 *   DATE TIME THREAD TYPE ACTIVITY PID TTL PROCESS: (LIB) [SUBSYSTEM:CATEGORY] MESSAGE
 * Returns false when the line is not of that form. */
static bool log_text_record(struct log_scan *s, const char *p, size_t n)
{
    autofree char *line = check_alloc(strndup(p, n));
    char *f[7], *rest = line;
    for (int i = 0; i < 7; i++) {
        while (*rest == ' ' || *rest == '\t')
            rest++;
        f[i] = rest;
        while (*rest && *rest != ' ' && *rest != '\t')
            rest++;
        if (!*rest)
            return false;
        *rest++ = 0;
    }
    while (*rest == ' ')
        rest++;
    char timestamp[80];
    snprintf(timestamp, sizeof timestamp, "%s %s", f[0], f[1]);
    char *process = rest, *message = rest, *subsystem = "", *category = "";
    char *colon = strstr(rest, ": ");
    if (colon) {
        *colon = 0;
        message = colon + 2;
    }
    char *lib = message[0] == '(' ? strstr(message, ") [") : NULL;
    char *bracket = lib ? lib + 2 : message[0] == '[' ? message : NULL;
    char *close = bracket ? strstr(bracket, "] ") : NULL;
    if (close) {
        *close = 0;
        subsystem = bracket + 1;
        char *sep = strrchr(subsystem, ':');
        if (sep) {
            *sep = 0;
            category = sep + 1;
        }
        message = close + 2;
    }
    struct log_event ev = {.timestamp = timestamp, .type = f[3], .subsystem = subsystem,
                           .category = category, .process = process, .message = message};
    s->stats.events++;
    s->fn(s->ctx, &ev);
    return true;
}

/* Handles one line of an ndjson or text log.  Header lines and the
 * continuation lines of multi-line messages are passed over; a line longer
 * than LOG_RECORD_MAX is counted and skipped, wherever it lies in the file. */
static void log_line(struct log_scan *s, const char *p, size_t n, bool candidate)
{
    s->stats.records++;
    if (n > LOG_RECORD_MAX) {
        s->stats.oversized++;
        return;
    }
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' '))
        n--;
    if (!candidate || n == 0)
        return;
    bool ok = true;
    if (p[0] == '{')
        ok = log_json_record(s, p, n);
    else if (isdigit((unsigned char)p[0]) && n > 20 && p[4] == '-' && p[10] == ' ')
        ok = log_text_record(s, p, n);
    if (!ok)
        s->stats.malformed++;
}

/* Reads up to n bytes of a log, again when a signal interrupts.  Returns
 * their count (0 at its end), or -1 with *e (EX_IOERR). */
static ssize_t log_read(int fd, char *buf, size_t n, struct error *e)
{
    ssize_t r;
    while ((r = read(fd, buf, n)) < 0 && errno == EINTR)
        continue;
    if (r < 0)
        fail(e, EX_IOERR, "read failed: %s", strerror(errno));
    return r;
}

/* Reads a line-oriented log (ndjson or text) from fd, starting with the
 * bytes already in buf.  Memory stays at one block and one record, whatever
 * the file's size.  Returns 0 or EX_IOERR. */
static int log_scan_lines(struct log_scan *s, int fd, char *buf, size_t have, struct error *e)
{
    size_t nlen = s->needle ? strlen(s->needle) : 0;
    bool skipping = false, eof = false;
    while (!eof) {
        ssize_t r = 0;
        if (have < LOG_BLOCK && (r = log_read(fd, buf + have, LOG_BLOCK + LOG_RECORD_MAX - have, e)) < 0)
            return e->code;
        eof = r == 0;
        char *p = buf, *end = buf + have + (size_t)r;
        const char *hit = nlen ? memmem(p, (size_t)(end - p), s->needle, nlen) : NULL;
        for (char *nl; (nl = memchr(p, '\n', (size_t)(end - p))) || (eof && p < end); p = nl + 1) {
            if (!nl)
                nl = end;   /* a last line without a newline */
            if (skipping) {
                skipping = false;   /* the rest of a record counted already */
                continue;
            }
            if (hit && hit < p)
                hit = memmem(p, (size_t)(end - p), s->needle, nlen);
            log_line(s, p, (size_t)(nl - p), !nlen || (hit && hit < nl));
            if (nl == end) {
                p = end;
                break;
            }
        }
        have = skipping ? 0 : (size_t)(end - p);   /* the start of the next line */
        if (have > LOG_RECORD_MAX) {
            log_line(s, p, have, false);   /* counted as oversized; the rest of it is skipped */
            skipping = true;
            have = 0;
        }
        memmove(buf, p, have);
    }
    return 0;
}

/* Reads `log show --style json` output: one array of objects, pretty-printed
 * over many lines.  Splits it into objects with a small state machine.
 * Returns 0 or EX_IOERR. */
static int log_scan_array(struct log_scan *s, int fd, char *buf, size_t have, struct error *e)
{
    struct buf obj = {0};
    int depth = 0;
    bool in_string = false, escaped = false, oversized = false;
    size_t nlen = s->needle ? strlen(s->needle) : 0;
    ssize_t r;
    for (;;) {
        for (size_t i = 0; i < have; i++) {
            char c = buf[i];
            if (depth >= 2 && !oversized) {
                if (obj.len >= LOG_RECORD_MAX)
                    oversized = true;
                else
                    buf_add(&obj, &c, 1);
            }
            if (in_string) {
                if (escaped)
                    escaped = false;
                else if (c == '\\')
                    escaped = true;
                else if (c == '"')
                    in_string = false;
                continue;
            }
            if (c == '"') {
                in_string = true;
            } else if (c == '{' || c == '[') {
                if (++depth == 2 && c == '{') {
                    obj.len = 0;
                    oversized = false;
                    buf_add(&obj, &c, 1);
                }
            } else if ((c == '}' || c == ']') && depth > 0 && --depth == 1) {
                s->stats.records++;
                if (oversized)
                    s->stats.oversized++;
                else if ((!nlen || memmem(obj.data, obj.len, s->needle, nlen)) &&
                         !log_json_record(s, obj.data, obj.len))
                    s->stats.malformed++;
            }
        }
        if ((r = log_read(fd, buf, LOG_BLOCK, e)) <= 0)
            break;
        have = (size_t)r;
    }
    if (depth > 1)
        s->stats.malformed++;   /* the array ended inside an object */
    buf_free(&obj);
    return r < 0 ? e->code : 0;
}

/* Reads a log in any of the three styles from fd, handing each event whose
 * record contains s->needle to s->fn.  Returns 0 or EX_IOERR. */
static int log_scan_fd(struct log_scan *s, int fd, struct error *e)
{
    char *buf = xmalloc(LOG_BLOCK + LOG_RECORD_MAX);
    size_t have = 0;
    ssize_t r = 0;
    while (have < 4096 && (r = log_read(fd, buf + have, 4096 - have, e)) > 0)
        have += (size_t)r;
    /* The style shows in the first line that is not a header ("Filtering the
     * log data using ..."): '[' opens --style json's one array. */
    size_t first = 0;
    for (;;) {
        while (first < have && isspace((unsigned char)buf[first]))
            first++;
        const char *nl = memchr(buf + first, '\n', have - first);
        if (!nl || first == have || strchr("[{0123456789", buf[first]))
            break;
        first = (size_t)(nl - buf) + 1;
    }
    bool array = r >= 0 && first < have && buf[first] == '[';
    if (array) {
        have -= first;
        memmove(buf, buf + first, have);
    }
    int rc = r < 0 ? e->code
           : array ? log_scan_array(s, fd, buf, have, e)
           : log_scan_lines(s, fd, buf, have, e);
    free(buf);
    return rc;
}

/* --- The PVG version negotiation --- */

/* A PVG line such as "Guest requested binary version: 43, setting binary
 * version to: 31": the guest asks for a renderer version, the host sets the
 * one it has. */
struct pvg_negotiation {
    char timestamp[64];
    unsigned guest_version, host_version;
};

/* Returns true when the event comes from paravirtualized graphics. */
static bool is_pvg_event(const struct log_event *ev)
{
    return strcasecmp(ev->subsystem, PVG_SUBSYSTEM) == 0 || strstr(ev->process, PVG_NEEDLE) ||
           strstr(ev->message, "setting binary version to:");
}

/* Reads a negotiation out of a PVG message.  Returns false when it is none. */
static bool pvg_parse_negotiation(const struct log_event *ev, struct pvg_negotiation *n)
{
    const char *m = strstr(ev->message, "Guest requested binary version:");
    char gs[11], hs[11];
    if (!m || sscanf(m, "Guest requested binary version: %10[0-9], setting binary version to: %10[0-9]", gs, hs) != 2)
        return false;
    unsigned long g = strtoul(gs, NULL, 10), h = strtoul(hs, NULL, 10);
    if (g > UINT32_MAX || h > UINT32_MAX)
        return false;
    *n = (struct pvg_negotiation){.guest_version = (unsigned)g, .host_version = (unsigned)h};
    snprintf(n->timestamp, sizeof n->timestamp, "%s", ev->timestamp);
    return true;
}

/* Returns the short name of a negotiation's outcome. */
static const char *pvg_verdict(const struct pvg_negotiation *n)
{
    return n->guest_version == n->host_version ? "equal"
         : n->guest_version > n->host_version ? "guest-newer" : "host-newer";
}

/* --- Renderer resets --- */

/* What today's hosts report is rarely the negotiation (equal versions, such
 * as 209 and 209, are the norm) but a renderer that resets in a loop: "Device
 * reset", displays destroyed ("PGDisplayNub[0]: Destroyed") and created again,
 * while the negotiation itself is fine.  struct pvg_watch follows a log's PVG
 * events for pvg-log and the Feedback report alike. */
#define PVG_RESET_LOOP 3        /* this many resets or display cycles in one log make a loop */
#define PVG_TIMELINE_RESETS 5   /* resets the timeline lists before "... more" */

struct pvg_watch {
    uint64_t lines, negotiations, resets, display_cycles;
    struct pvg_negotiation first, last;     /* when negotiations > 0 */
    unsigned displays_gone;                 /* destroyed and not yet created again */
    char reset_times[PVG_TIMELINE_RESETS][64], last_reset[64];
    char last_time[64], last_message[256];  /* the last PVG event */
};

/* Follows one PVG event (is_pvg_event).  Returns whether it was a negotiation, in *n. */
static bool pvg_watch_event(struct pvg_watch *w, const struct log_event *ev, struct pvg_negotiation *n)
{
    w->lines++;
    snprintf(w->last_time, sizeof w->last_time, "%s", ev->timestamp);
    snprintf(w->last_message, sizeof w->last_message, "%s", ev->message);
    const char *display = strstr(ev->message, "PGDisplay");
    if (strcasestr(ev->message, "device reset")) {
        if (w->resets < PVG_TIMELINE_RESETS)
            snprintf(w->reset_times[w->resets], sizeof w->reset_times[0], "%s", ev->timestamp);
        snprintf(w->last_reset, sizeof w->last_reset, "%s", ev->timestamp);
        w->resets++;
    } else if (display && strcasestr(display, "destroy")) {
        w->displays_gone++;
    } else if (display && strcasestr(display, "creat") && w->displays_gone) {
        w->displays_gone--;
        w->display_cycles++;   /* a display destroyed earlier is back: one cycle */
    }
    if (!pvg_parse_negotiation(ev, n))
        return false;
    if (w->negotiations++ == 0)
        w->first = *n;
    w->last = *n;
    return true;
}

/* Returns whether the renderer reset in a loop. */
static bool pvg_reset_loop(const struct pvg_watch *w)
{
    return w->resets >= PVG_RESET_LOOP || w->display_cycles >= PVG_RESET_LOOP;
}

/* Appends the reset-loop verdict in plain language. */
static void pvg_loop_text(struct buf *b, const struct pvg_watch *w)
{
    buf_printf(b, "the renderer reset in a loop (%" PRIu64 " device reset%s, %" PRIu64 " display%s destroyed and "
               "created again)%s: a paravirtualized-graphics bug on the host, the frozen or flickering display "
               "people report on today's hosts; state the counts and attach the log in a Feedback report.",
               w->resets, w->resets == 1 ? "" : "s", w->display_cycles, w->display_cycles == 1 ? "" : "s",
               !w->negotiations ? ""
               : w->last.guest_version == w->last.host_version ? " while the negotiation is fine"
                                                               : " and the versions differ too");
}

/* Appends the short timeline: first negotiation, resets, last event. */
static void pvg_timeline(struct buf *b, const struct pvg_watch *w)
{
    if (w->negotiations)
        buf_printf(b, "  %s  first negotiation: guest %u, host %u\n", w->first.timestamp, w->first.guest_version,
                   w->first.host_version);
    for (uint64_t i = 0; i < w->resets && i < PVG_TIMELINE_RESETS; i++)
        buf_printf(b, "  %s  device reset %" PRIu64 "\n", w->reset_times[i], i + 1);
    if (w->resets > PVG_TIMELINE_RESETS)
        buf_printf(b, "  ...  %" PRIu64 " more resets, the last at %s\n", w->resets - PVG_TIMELINE_RESETS,
                   w->last_reset);
    if (w->lines)
        buf_printf(b, "  %s  last event: %s\n", w->last_time, w->last_message);
}

/* Appends one event of the timeline as a JSON object (message: NULL for none). */
static void pvg_event_json(struct json *j, const char *timestamp, const char *event, const char *message)
{
    json_open(j, NULL, '{');
    json_str(j, "timestamp", timestamp);
    json_str(j, "event", event);
    if (message)
        json_str(j, "message", message);
    json_close(j, '}');
}

/* Appends the counts, the verdict and the timeline as JSON members.  The
 * log's verdict: "reset-loop" outranks the negotiation's, "none" when neither. */
static void pvg_watch_json(struct json *j, const struct pvg_watch *w)
{
    json_uint(j, "pvg_lines", w->lines);
    json_uint(j, "negotiations", w->negotiations);
    json_uint(j, "resets", w->resets);
    json_uint(j, "display_cycles", w->display_cycles);
    json_str(j, "verdict", pvg_reset_loop(w) ? "reset-loop" : w->negotiations ? pvg_verdict(&w->last) : "none");
    json_open(j, "timeline", '[');
    if (w->negotiations)
        pvg_event_json(j, w->first.timestamp, "first negotiation", NULL);
    for (uint64_t i = 0; i < w->resets && i < PVG_TIMELINE_RESETS; i++)
        pvg_event_json(j, w->reset_times[i], "device reset", NULL);
    if (w->resets > PVG_TIMELINE_RESETS)
        pvg_event_json(j, w->last_reset, "last device reset", NULL);
    if (w->lines)
        pvg_event_json(j, w->last_time, "last event", w->last_message);
    json_close(j, ']');
}

/* Returns the verdict in plain language, for people and for Feedback. */
static void pvg_verdict_text(char *out, size_t size, const struct pvg_negotiation *n)
{
    if (n->guest_version == n->host_version)
        snprintf(out, size, "guest and host agree on renderer version %u: fine.", n->host_version);
    else if (n->guest_version > n->host_version)
        snprintf(out, size,
                 "the guest asked for renderer version %u but the host set %u: the host's paravirtualized "
                 "graphics renderer is older than the guest expects (the classic beta guest on an older "
                 "host). A likely cause of graphics bugs; state it in a Feedback report.",
                 n->guest_version, n->host_version);
    else
        snprintf(out, size,
                 "the host set renderer version %u, newer than the %u the guest asked for: unusual; "
                 "mention it in a Feedback report.", n->host_version, n->guest_version);
}

/* --- The installer's own errors --- */

/* Reads "Error Domain=DOMAIN Code=N" out of a message into *out: the last one
 * in it, the innermost of a chain of underlying errors and so the most
 * specific.  Returns false when the message names none. */
static bool parse_named_error(const char *message, struct bridge_error *out)
{
    static const char mark[] = "Error Domain=";
    const char *last = NULL;
    for (const char *p = message; (p = strstr(p, mark)); p++)
        last = p;
    if (!last)
        return false;
    const char *domain = last + strlen(mark);
    size_t n = strcspn(domain, " ,;{}\"\n");
    if (n == 0 || n >= sizeof out->domain || strncmp(domain + n, " Code=", 6) != 0)
        return false;
    char *end;
    errno = 0;
    long code = strtol(domain + n + 6, &end, 10);
    if (end == domain + n + 6 || errno)
        return false;
    snprintf(out->domain, sizeof out->domain, "%.*s", (int)n, domain);
    out->code = code;
    snprintf(out->message, sizeof out->message, "%s", message);
    return true;
}

/* Keeps the first error an event of the installer's process names. */
static void installer_event(void *ctx, const struct log_event *ev)
{
    struct bridge_error *first = ctx;
    if (!first->domain[0] && strstr(ev->process, INSTALLER_PROCESS))
        parse_named_error(ev->message, first);
}

/* Finds the first error the installer's process names in the log at path:
 * the cause, where Virtualization only says "Installation failed".  Returns
 * whether there is one, in *out. */
static bool installer_error_in(const char *path, struct bridge_error *out)
{
    *out = (struct bridge_error){0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct log_scan s = {.needle = "Error Domain=", .fn = installer_event, .ctx = out};
    struct error ignored = {0};
    log_scan_fd(&s, fd, &ignored);
    close(fd);
    return out->domain[0] != 0;
}

/* --- Capture during a run --- */

/* The capture of a run's log: a small supervisor process (a fork of macvm)
 * that runs `log stream` and ends it when macvm closes its pipe, which the
 * kernel does when macvm dies, even of kill -9.  `log stream` must never
 * outlive macvm: it would run forever with vz.ndjson open. */
struct log_capture {
    pid_t pid;              /* the supervisor */
    int eof_fd;             /* macvm's end of the pipe; closing it stops the capture */
    char *err_path;         /* the tool's stderr, in the run's folder; log_capture_stop frees it */
};

/* Returns the log tool: $MACVM_LOG_TOOL (tests use a stand-in), else /usr/bin/log. */
static const char *log_tool(void)
{
    const char *t = getenv("MACVM_LOG_TOOL");
    return t && *t ? t : "/usr/bin/log";
}

static volatile sig_atomic_t capture_orphaned;

static void on_capture_orphaned(int sig)
{
    (void)sig;
    capture_orphaned = 1;
}

/* Waits for pid to exit, looking every 50 ms, ticks times at most.  Returns
 * whether it exited (its status in *status). */
static bool wait_ticks(pid_t pid, int *status, int ticks)
{
    struct timespec tick = {0, 50 * 1000 * 1000};
    for (int i = 0;; i++) {
        if (waitpid(pid, status, WNOHANG) == pid)
            return true;
        if (i == ticks)
            return false;
        nanosleep(&tick, NULL);
    }
}

/* In a fork of the supervisor: becomes the tool, writing to out (its errors
 * to err), with default signals (the supervisor ignores some). */
static void capture_exec_tool(char **argv, int out, int err)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGINT);   /* a supervisor that dies ends its tool too */
#endif
    int in = open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    execv(argv[0], argv);
    _exit(127);
}

/* The supervisor, in the forked child: runs the tool, then waits until either
 * it exits or eof_fd reads end-of-file (macvm closed it, or died; on Linux
 * macvm's death is also a SIGTERM); then SIGINT (log stream flushes and
 * exits), SIGKILL after 3 s.  Exits with the tool's status, 127 when it could
 * not start.  Calls only what is safe in a fork of a threaded process. */
static void capture_supervise(int eof_fd, pid_t parent, char **argv, int out, int err)
{
    struct sigaction sa = {.sa_handler = on_capture_orphaned};   /* no SA_RESTART: poll returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    /* Nothing of macvm's stays open here: a bundle's lock must end with macvm. */
    long max_fd = sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (max_fd > 0 && max_fd < 65536 ? max_fd : 65536); fd++)
        if (fd != eof_fd && fd != out && fd != err)
            close(fd);
    signal(SIGINT, SIG_IGN);    /* Ctrl-C and a closed terminal are for the VM; */
    signal(SIGHUP, SIG_IGN);    /* the capture ends after it */
    signal(SIGPIPE, SIG_DFL);   /* what catch_interrupts ignored, the tool need not */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
#ifdef __linux__
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
        _exit(EX_OSERR);   /* macvm is already gone */
#else
    (void)parent;
#endif
    pid_t tool = fork();
    if (tool == 0)
        capture_exec_tool(argv, out, err);
    if (tool < 0)
        _exit(127);
    int status = 0;
    struct pollfd pfd = {.fd = eof_fd, .events = POLLIN};
    while (!capture_orphaned) {
        if (waitpid(tool, &status, WNOHANG) == tool)
            _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        char byte;
        if (poll(&pfd, 1, 50) > 0 && read(eof_fd, &byte, 1) <= 0)
            break;
    }
    kill(tool, SIGINT);
    if (!wait_ticks(tool, &status, 60)) {
        kill(tool, SIGKILL);
        waitpid(tool, &status, 0);
    }
    _exit(0);
}

/* Starts `log stream --style ndjson --level debug --predicate ...` writing
 * to out_path, from an argv and never a shell, under its supervisor.
 * Returns 0, or an exit code with *e (callers warn: a capture failure never
 * fails a run). */
static int log_capture_start(struct log_capture *c, const char *out_path, const char *dir,
                             struct error *e)
{
    char *argv[] = {(char *)log_tool(), "stream", "--style", "ndjson", "--level", "debug",
                    "--predicate", LOG_PREDICATE, NULL};
    *c = (struct log_capture){.pid = -1, .eof_fd = -1, .err_path = path_join(dir, "log-stream.stderr")};
    int fds[2];
    if (pipe(fds) != 0)
        return fail(e, EX_OSERR, "cannot start %s: %s", argv[0], strerror(errno));
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);   /* no other child may hold the capture open */
    /* The tool's files are made here, where a failure can name the file and say why. */
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = out < 0 ? -1 : open(c->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const char *unmade = out < 0 ? out_path : err < 0 ? c->err_path : NULL;
    pid_t parent = getpid();
    c->pid = unmade ? -1 : fork();
    if (c->pid == 0) {
        close(fds[1]);
        /* Its own process group: the terminal's Ctrl-C is for the VM, and must
         * not end the capture before the VM's last lines are in. */
        setpgid(0, 0);
        capture_supervise(fds[0], parent, argv, out, err);
    }
    int saved = errno, status = 0;
    close(fds[0]);
    if (err >= 0)
        close(err);
    if (out >= 0)
        close(out);
    c->eof_fd = fds[1];
    /* A tool that cannot start or read the log (no permission) exits at once: say so now. */
    if (c->pid > 0 && !wait_ticks(c->pid, &status, 4))
        return 0;
    bool started = c->pid > 0;
    close(c->eof_fd);
    c->pid = c->eof_fd = -1;
    if (out >= 0)
        unlink(out_path);   /* no capture, no log file: reports must not point at one */
    if (unmade)
        return fail(e, EX_CANTCREAT, "cannot create %s: %s", unmade, strerror(saved));
    if (!started)
        return fail(e, EX_OSERR, "cannot start %s: %s", argv[0], strerror(saved));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return fail(e, EX_UNAVAILABLE, "cannot start %s: not found or not executable", argv[0]);
    return fail(e, EX_UNAVAILABLE, "%s stopped at once (exit %d); see %s", argv[0],
                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), c->err_path);
}

/* Stops the capture: closes the pipe, so the supervisor ends `log stream`
 * (SIGINT, SIGKILL after 3 s), and waits for it.  Removes the stderr file when empty. */
static void log_capture_stop(struct log_capture *c)
{
    if (c->pid > 0) {
        /* `log stream` delivers lines a moment late: let the last ones arrive. */
        struct timespec pause = {0, 500 * 1000 * 1000};
        nanosleep(&pause, NULL);
        close(c->eof_fd);
        int status;
        if (!wait_ticks(c->pid, &status, 80)) {   /* still ours: a reaped pid could be another's by now */
            kill(-c->pid, SIGKILL);   /* the supervisor's group: it and the tool */
            waitpid(c->pid, &status, 0);
        }
        c->pid = c->eof_fd = -1;
    }
    struct stat st;
    if (c->err_path && stat(c->err_path, &st) == 0 && st.st_size == 0)
        unlink(c->err_path);
    free(c->err_path);
    c->err_path = NULL;
}

/* --- Run folders: logs/<start time>/ in the bundle --- */

#define RUNS_KEPT 20
#define EPHEMERAL_LOGS_SUFFIX ".ephemeral-logs"
#define INSTALL_SUFFIX "-install"    /* an install's record: logs/<start time>-install/ */

/* Returns true when name is exactly a run folder's name: "2026-11-26T14-41-39",
 * maybe with "-install" (an install's record), maybe then with "-2".  Pruning
 * removes only such folders, so nothing else a user keeps in logs/ is ever at risk. */
static bool is_run_name(const char *name)
{
    static const char shape[] = "dddd-dd-ddTdd-dd-dd";
    for (int i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)name[i]) : name[i] != shape[i])
            return false;
    const char *rest = name + sizeof shape - 1;
    if (strncmp(rest, INSTALL_SUFFIX, strlen(INSTALL_SUFFIX)) == 0)
        rest += strlen(INSTALL_SUFFIX);
    return !*rest || (rest[0] == '-' && rest[1] && strspn(rest + 1, "0123456789") == strlen(rest + 1));
}

/* Orders run folders (full paths) by their names, their start times, wherever they are. */
static int compare_run_dirs(const void *a, const void *b)
{
    return strcmp(strrchr(*(char *const *)a, '/'), strrchr(*(char *const *)b, '/'));
}

/* Adds the run folders under logs_dir to the n paths in *dirs, then sorts
 * them all, oldest first.  Returns their new count (free them with free_names). */
static size_t list_runs(const char *logs_dir, char ***dirs, size_t n)
{
    DIR *d = opendir(logs_dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        if (!is_run_name(de->d_name))
            continue;
        char *path = path_join(logs_dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(path);
            continue;
        }
        *dirs = xrealloc(*dirs, (n + 1) * sizeof **dirs);
        (*dirs)[n++] = path;
    }
    if (d)
        closedir(d);
    if (n)
        qsort(*dirs, n, sizeof **dirs, compare_run_dirs);
    return n;
}

/* Returns the folder where disposable runs of bundle keep their logs:
 * NAME.ephemeral-logs beside it.  Free it. */
static char *ephemeral_logs_dir(const char *bundle)
{
    char *dir = xmalloc(strlen(bundle) + sizeof EPHEMERAL_LOGS_SUFFIX);
    sprintf(dir, "%s" EPHEMERAL_LOGS_SUFFIX, bundle);
    return dir;
}

/* Lists every run folder of a bundle, oldest first: logs/ inside it and the
 * disposable runs' folder beside it.  Returns their count; *dirs holds full
 * paths (free with free_names). */
static size_t bundle_runs(const char *bundle, char ***dirs)
{
    autofree char *logs = path_join(bundle, BUNDLE_LOGS);
    autofree char *ephemeral = ephemeral_logs_dir(bundle);
    *dirs = NULL;
    return list_runs(ephemeral, dirs, list_runs(logs, dirs, 0));
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Finds the bundle's run (or install record) called name, or its newest when
 * name is NULL.  Returns its folder (free it), or NULL with *e (EX_NOINPUT). */
static char *find_run(const char *bundle, const char *name, struct error *e)
{
    char **runs;
    size_t n = bundle_runs(bundle, &runs);
    const char *chosen = !name && n ? runs[n - 1] : NULL;
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(strrchr(runs[i], '/') + 1, name) == 0)
            chosen = runs[i];
    char *dir = chosen ? xstrdup(chosen) : NULL;
    if (!dir && name)
        fail(e, EX_NOINPUT, "no run %s; 'macvm info' lists the runs", name);
    else if (!dir)
        fail(e, EX_NOINPUT, "no recorded run");
    free_names(runs, n);
    return dir;
}

/* Creates logs_dir/<start time><suffix> (with -2, -3... when taken there or
 * in other_dir, the bundle's other run folder).  Returns its path (free it),
 * or NULL with *e (EX_CANTCREAT). */
static char *run_dir_create(const char *logs_dir, const char *other_dir, time_t start, const char *suffix,
                            struct error *e)
{
    char name[64];
    struct tm tm;
    localtime_r(&start, &tm);
    strftime(name, sizeof name, "%Y-%m-%dT%H-%M-%S", &tm);
    strcat(name, suffix);
    struct stat st;
    if (mkdir(logs_dir, 0755) != 0 && errno != EEXIST)
        return fail(e, EX_CANTCREAT, "cannot create %s: %s", logs_dir, strerror(errno)), NULL;
    if (!is_directory(logs_dir) && lstat(logs_dir, &st) == 0)   /* a file, FIFO or dangling link in the way */
        return fail(e, EX_CANTCREAT, "%s is %s, not a folder; move it aside", logs_dir, file_kind(st.st_mode)), NULL;
    int err = EEXIST;   /* what is said when every name is taken */
    for (int i = 1; i < 100 && err == EEXIST; i++) {
        char unique[80];
        snprintf(unique, sizeof unique, i == 1 ? "%s" : "%s-%d", name, i);
        autofree char *twin = path_join(other_dir, unique);
        if (access(twin, F_OK) == 0)
            continue;   /* a run of the other kind has this name: names stay unique per bundle */
        char *dir = path_join(logs_dir, unique);
        if ((err = mkdir(dir, 0755) != 0 ? errno : 0) == 0)
            return dir;
        free(dir);
    }
    return fail(e, EX_CANTCREAT, "cannot create a run folder in %s: %s", logs_dir, strerror(err)), NULL;
}

/* Removes the oldest run folders under logs_dir beyond RUNS_KEPT, never the current one. */
static void runs_prune(const char *logs_dir, const char *current)
{
    char **runs = NULL;
    size_t n = list_runs(logs_dir, &runs, 0);
    for (size_t i = 0; n > RUNS_KEPT && i < n - RUNS_KEPT; i++) {
        /* Only folders macvm made: a run name, a directory (list_runs saw both), a run.json inside. */
        autofree char *record = path_join(runs[i], "run.json");
        struct error e;
        if (strcmp(runs[i], current) != 0 && access(record, F_OK) == 0 && remove_tree(runs[i], &e))
            warn("an old run stays: %s; remove it with rm -r", e.text);
    }
    free_names(runs, n);
}

/* ============================== 5. Advice =============================== */

/* Virtualization's errors are terse ("Internal Virtualization error").  This
 * table turns domain, code and message into what to do, from what users hit
 * (the project's notes on VZErrorDomain codes).  The first matching row wins, so rows with a
 * message pattern come before the code's general row. */
#define ANY_CODE LONG_MIN

struct advice_rule {
    const char *domain;     /* NULL: any */
    long code;              /* ANY_CODE: any */
    const char *pattern;    /* found in the message, ignoring case; NULL: any */
    const char *advice;
};

#define ADVICE_NETWORK                                                                                         \
    "a network error: the Mac must reach Apple's servers (gs.apple.com to install, updates.cdn-apple.com to "   \
    "download); check the connection, proxies, VPN and firewalls, then retry"
#define ADVICE_DISK_FULL                                                                                       \
    "the disk is full: free space on the bundle's volume (an install needs about 80 GiB; 'macvm doctor' shows " \
    "it) and retry"
#define ADVICE_TWO_VMS                                                                                         \
    "the macOS licence allows two macOS VMs at once and two run now (a stopped VM can hold its slot until its "  \
    "process exits): stop one, wait a few seconds, and retry; 'macvm doctor' counts them"

static const struct advice_rule advice_rules[] = {
    {NULL, ANY_CODE, "com.apple.security.virtualization",
     "macvm is not signed with the com.apple.security.virtualization entitlement: build it with 'make', "
     "which signs it, or run 'codesign -s - -f --entitlements macvm.entitlements macvm'"},
    {NULL, ANY_CODE, "lock auxiliary storage",
     "this VM runs already (in another macvm, in Apple's sample, or a stopped VM whose process has not "
     "exited yet): stop it, wait a few seconds, and retry"},
    {NULL, ANY_CODE, "maximum supported number of active virtual machines", ADVICE_TWO_VMS},
    {NULL, ANY_CODE, "restricted device",
     "the VM has a restricted device (the GDB debug stub) but macvm lacks the com.apple.private.virtualization "
     "entitlement.  " SIGN_PRIVATE_HINT},
    {"VZErrorDomain", 2, "hardwareModel",
     "this Mac's macOS is older than the guest's hardware model needs: update the host, or install an older "
     "macOS into a new bundle"},
    {NULL, ANY_CODE, "device in configuration",
     "Virtualization cannot save or restore a VM with this device (a USB keyboard or pointer, which guests before "
     "macOS 14 need; on 14.x hosts also a console or a shared folder): 'macvm run --dry-run' shows the devices and "
     "why a run does not save; 'macvm doctor --probe BUNDLE' asks Virtualization"},
    {"VZErrorDomain", 1, NULL,
     "Virtualization failed inside its own process.  Usual causes: a restricted feature without the private "
     "entitlement com.apple.private.virtualization (the GDB stub; perhaps the iBoot stops: 'macvm doctor --probe' "
     "shows what this Mac has), or a beta guest on an older host.  Look for a crash report in "
     "~/Library/Logs/DiagnosticReports/com.apple.Virtualization.VirtualMachine-*.ips ('macvm feedback' lists "
     "it) and attach it to your Feedback report"},
    {"VZErrorDomain", 5, NULL,
     "Disk.img is not a usable disk image (damaged, or not a raw image): go back to a clone, or reinstall"},
    {"VZErrorDomain", 6, NULL, ADVICE_TWO_VMS},
    {"VZErrorDomain", 10001, NULL,
     "Apple's catalog of restore images did not download (no network, or a proxy, VPN or firewall blocking "
     "mesu.apple.com): check the connection and retry, or download an image yourself and use --ipsw FILE"},
    {"VZErrorDomain", 10002, NULL,
     "Apple's catalog of restore images came back unreadable (a captive portal or proxy answering in its place, or a "
     "catalog this macOS is too old for): retry on another network or after a host update, or use --ipsw FILE"},
    {"VZErrorDomain", 10003, NULL,
     "Apple's catalog lists no image this Mac supports (a host too old, or a beta host whose images are not in the "
     "public catalog): download a matching image (the Apple Developer site has betas) and use --ipsw FILE"},
    {"VZErrorDomain", 7, NULL, ADVICE_NETWORK},
    {"NSURLErrorDomain", ANY_CODE, NULL, ADVICE_NETWORK},
    {"VZErrorDomain", 8, NULL, ADVICE_DISK_FULL},
    {"NSPOSIXErrorDomain", 28, NULL, ADVICE_DISK_FULL},
    {"VZErrorDomain", 10004, NULL,
     "the restore image did not load: check it with 'macvm ipsw FILE'; a truncated download is the usual "
     "cause, so download it again"},
    {"VZErrorDomain", 10005, NULL,
     "the file is not a valid restore image (wrong file, or a damaged download): check it with "
     "'macvm ipsw FILE' and download it again"},
    {"VZErrorDomain", 10006, NULL,
     "installing this macOS needs a software update on the host (device support): run Software Update, or "
     "install Xcode and open it once, then retry"},
    {NULL, ANY_CODE, "eligible for the requested build",
     "Apple no longer signs this build (or never did for this host): a beta stops installing once its successor "
     "ships; download the current image ('macvm install --latest', or the newest beta's restore image)"},
    {"VZErrorDomain", 10007, "AMRestorePerformRestoreModeRestoreWithError",
     "this Mac's MobileDevice framework is too old for the guest: install Xcode (the newest beta for a beta "
     "guest) and open it once so it installs device support; 'macvm doctor --ipsw FILE' compares versions"},
    {"VZErrorDomain", 10007, NULL,
     "the installation failed.  Usual causes: Apple's servers unreachable (gs.apple.com must be reachable: "
     "check proxies, VPN and firewalls), a guest newer than the host, missing device support (install Xcode "
     "and open it once).  'macvm doctor --ipsw FILE' checks what it can; then retry"},
    {"VZErrorDomain", 12, NULL,
     "the saved state (SaveFile.vzvmsave) does not fit this VM's configuration (CPUs, memory, MAC or devices "
     "changed since it was saved); it cannot be restored: the VM starts fresh without it.  Next time run with the "
     "configuration that saved it (macvm checks this against the saving run's run.json)"},
    {NULL, -9, "host key",
     "no logged-in GUI session, or a locked login keychain: log in at the Mac's screen (not only over SSH) "
     "and unlock the login keychain"},
};

/* Returns what to do about an error, or NULL when macvm knows nothing better
 * than the error itself. */
static const char *advise(const char *domain, long code, const char *message)
{
    for (size_t i = 0; i < sizeof advice_rules / sizeof *advice_rules; i++) {
        const struct advice_rule *r = &advice_rules[i];
        if ((!r->domain || strcmp(r->domain, domain) == 0) && (r->code == ANY_CODE || r->code == code) &&
            (!r->pattern || strcasestr(message, r->pattern)))
            return r->advice;
    }
    return NULL;
}

/* ============================== 6. Reports ============================== */

/* `macvm feedback` writes what Apple's engineers ask for in a Virtualization
 * Feedback report, from a bundle and its newest run: the host and guest, the
 * configuration and the command that reproduces it, the outcome with advice,
 * the PVG negotiation, the errors of the run, and what to attach.  Personal
 * data (ECID, MAC addresses, user name, home directory) is redacted unless
 * asked otherwise.  Everything the report says is gathered into struct
 * feedback first, then rendered as Markdown: once to learn the names the
 * report holds, then again with its data redacted. */

#define FEEDBACK_MAX_LINES 200          /* PVG lines and errors kept for a report */
#define CRASH_REPORTS "Library/Logs/DiagnosticReports"
#define CRASH_PREFIX "com.apple.Virtualization.VirtualMachine"

/* Reads the version.plist of a system framework below root ("" on the host),
 * e.g. "Frameworks/Virtualization": its short version and, when present, its
 * source version in parentheses.  Returns false when there is none (always,
 * off macOS). */
static bool framework_version(const char *root, const char *framework, char *out, size_t size)
{
    struct buf path = {0};
    buf_printf(&path, "%s/System/Library/%s.framework/Versions/A/Resources/version.plist", root, framework);
    struct arena a = {0};
    struct error e = {0};
    struct plist *v = plist_read_file(path.data, SMALL_FILE_MAX, &a, &e);
    const char *version = plist_string(v, "CFBundleShortVersionString"), *source = plist_string(v, "SourceVersion");
    if (!version)
        version = plist_string(v, "CFBundleVersion");
    if (version)
        snprintf(out, size, "%s%s%s%s", version, source ? " (" : "", source ? source : "", source ? ")" : "");
    arena_free(&a);
    buf_free(&path);
    return version != NULL;
}

/* Appends s quoted for a POSIX shell when it needs quoting. */
static void shell_quote(struct buf *b, const char *s)
{
    static const char plain[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./=:,@%+";
    if (*s && strspn(s, plain) == strlen(s)) {
        buf_puts(b, s);
        return;
    }
    buf_add(b, "'", 1);
    for (; *s; s++) {
        if (*s == '\'')
            buf_puts(b, "'\\''");
        else
            buf_add(b, s, 1);
    }
    buf_add(b, "'", 1);
}

#define PORT_TAIL_LINES 20          /* of a console or serial log, in a report */
#define PORT_TAIL_BYTES 65536

/* The end of what the guest printed on a console or serial port. */
struct port_tail {
    char *path;
    bool exists;
    char *text;                         /* the end of the file, cut into lines */
    char *lines[PORT_TAIL_LINES];       /* the last ones, in text */
    size_t n;
};

/* Reads the last lines of dir/name, if it is a regular file, with control
 * characters (the guest's escape sequences) shown as '?'. */
static void port_tail_read(struct port_tail *t, const char *dir, const char *name)
{
    struct stat st;
    t->path = path_join(dir, name);
    /* Without blocking: a FIFO where the log belongs is passed over, never waited on. */
    int fd = open(t->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return;
    }
    t->exists = true;
    off_t from = st.st_size > PORT_TAIL_BYTES ? st.st_size - PORT_TAIL_BYTES : 0;
    char *text = t->text = xmalloc(PORT_TAIL_BYTES + 1);
    ssize_t got = pread(fd, text, PORT_TAIL_BYTES, from);
    close(fd);
    char *p = text, *end = text + (got > 0 ? got : 0);
    if (from > 0 && (p = memchr(text, '\n', (size_t)(end - text))))   /* the first line is cut: leave it out */
        p++;
    for (char *nl; p && p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        size_t n = (size_t)(nl - p);
        if (n && p[n - 1] == '\r')
            n--;
        p[n] = 0;
        for (size_t i = 0; i < n; i++)
            if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
                p[i] = '?';
        if (t->n == PORT_TAIL_LINES) {
            memmove(t->lines, t->lines + 1, (PORT_TAIL_LINES - 1) * sizeof *t->lines);
            t->n--;
        }
        t->lines[t->n++] = p;
    }
}

static void port_tail_free(struct port_tail *t)
{
    free(t->text);
    free(t->path);
}

struct redaction;

struct feedback {
    const char *bundle;
    char *run_dir;                          /* NULL when the bundle has no run */
    char *log_path, *screenshot;            /* where the run keeps them (NULL without a run) */
    struct port_tail console, serial;
    bool has_log, has_screenshot;
    char log_problem[1024];                 /* why a vz.ndjson that is there cannot be read, or "" */
    struct arena arena;
    const struct plist *run;                /* run.json, or NULL */
    struct vm_config config;
    struct hardware_model hw;
    bool has_hw;
    uint64_t ecid;
    bool has_ecid;
    char hw_problem[256], ecid_problem[256];   /* why HardwareModel, MachineIdentifier cannot be read */
    struct pvg_watch pvg;                   /* its last negotiation is the one that counts, as in pvg-log */
    char **pvg_lines, **errors;             /* kept lines */
    size_t n_pvg, n_errors, more_pvg, more_errors;
    char **crash_reports;
    size_t n_crash;
    const struct redaction *redaction;      /* while rendering: how to redact data, or NULL */
};

static void keep_line(char ***lines, size_t *n, size_t *more, const struct log_event *ev)
{
    if (*n >= FEEDBACK_MAX_LINES) {
        (*more)++;
        return;
    }
    struct buf b = {0};
    buf_printf(&b, "%s [%s%s%s] %s", ev->timestamp, ev->subsystem, *ev->category ? ":" : "", ev->category,
               ev->message);
    *lines = xrealloc(*lines, (*n + 1) * sizeof **lines);
    (*lines)[(*n)++] = b.data;
}

/* Collects PVG lines, the last negotiation, and errors and faults. */
static void feedback_event(void *ctx, const struct log_event *ev)
{
    struct feedback *f = ctx;
    if (is_pvg_event(ev)) {
        keep_line(&f->pvg_lines, &f->n_pvg, &f->more_pvg, ev);
        struct pvg_negotiation n;
        pvg_watch_event(&f->pvg, ev, &n);
    }
    if (strcasecmp(ev->type, "Error") == 0 || strcasecmp(ev->type, "Fault") == 0)
        keep_line(&f->errors, &f->n_errors, &f->more_errors, ev);
}

/* Returns the string at dict.key in run.json ("outcome", "result"), or NULL. */
static const char *run_string(const struct plist *run, const char *dict, const char *key)
{
    return plist_string(plist_dict(run, dict), key);
}

/* Lists the VM process's crash reports written during [from, to]. */
static void find_crash_reports(struct feedback *f, time_t from, time_t to)
{
    autofree char *dir = path_join(home_dir(), CRASH_REPORTS);
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        if (strncmp(de->d_name, CRASH_PREFIX, strlen(CRASH_PREFIX)) != 0 || len < 4 ||
            strcmp(de->d_name + len - 4, ".ips") != 0)
            continue;
        char *path = path_join(dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || st.st_mtime < from || st.st_mtime > to) {
            free(path);
            continue;
        }
        f->crash_reports = xrealloc(f->crash_reports, (f->n_crash + 1) * sizeof *f->crash_reports);
        f->crash_reports[f->n_crash++] = path;
    }
    if (d)
        closedir(d);
}

/* Gathers everything a report says about bundle's run (the newest when
 * run_name is NULL).  Returns 0, or an exit code when the bundle is unusable. */
static int feedback_gather(struct feedback *f, const char *bundle, const char *run_name, struct error *e)
{
    struct error ignored = {0};
    f->bundle = bundle;
    int rc = bundle_found(bundle, e);
    if (rc || (rc = config_load(bundle, &f->config, e)))
        return rc;
    autofree char *hw = path_join(bundle, BUNDLE_HARDWARE_MODEL);
    autofree char *id = path_join(bundle, BUNDLE_MACHINE_IDENTIFIER);
    struct error hw_error = {0}, id_error = {0};
    if (!(f->has_hw = hardware_model_read(hw, &f->hw, &hw_error) == 0))
        snprintf(f->hw_problem, sizeof f->hw_problem, "%.200s", hw_error.text);
    if (!(f->has_ecid = machine_identifier_read(id, &f->ecid, &id_error) == 0))
        snprintf(f->ecid_problem, sizeof f->ecid_problem, "%.200s", id_error.text);
    if (!(f->run_dir = find_run(bundle, run_name, run_name ? e : &ignored)))
        return run_name ? e->code : 0;   /* no run yet: a report on the bundle alone */
    f->run = run_record_read(f->run_dir, &f->arena);
    f->log_path = path_join(f->run_dir, "vz.ndjson");
    struct error log_error = {0};
    int fd = access(f->log_path, F_OK) == 0 ? open_regular(f->log_path, &log_error) : -1;
    f->has_log = fd >= 0;
    if (!f->has_log && log_error.code) {   /* a log there that cannot be read is no "no log": say why */
        snprintf(f->log_problem, sizeof f->log_problem, "%s", log_error.text);
        warn("%s: %s; the report leaves out the run's log lines", f->log_path, log_error.text);
    }
    port_tail_read(&f->console, f->run_dir, "console.log");
    port_tail_read(&f->serial, f->run_dir, "serial.log");
    struct stat st, dir;
    f->screenshot = path_join(f->run_dir, "screen.png");
    f->has_screenshot = lstat(f->screenshot, &st) == 0 && S_ISREG(st.st_mode);
    if (fd >= 0) {
        struct log_scan s = {.fn = feedback_event, .ctx = f};
        log_scan_fd(&s, fd, &ignored);
        close(fd);
    }
    uint64_t from, to;
    if (plist_uint(f->run, "started_unix", UINT32_MAX * 4ull, &from) &&
        plist_uint(f->run, "stopped_unix", UINT32_MAX * 4ull, &to))
        find_crash_reports(f, (time_t)from - 60, (time_t)to + 600);
    else if (stat(f->run_dir, &dir) == 0)   /* a killed run, no run.json: the folder's and log's times */
        find_crash_reports(f, dir.st_mtime - 60, (f->has_log && stat(f->log_path, &st) == 0 &&
                                                  st.st_mtime > dir.st_mtime ? st.st_mtime : dir.st_mtime) + 600);
    return 0;
}

static void feedback_free(struct feedback *f)
{
    port_tail_free(&f->console);
    port_tail_free(&f->serial);
    free_names(f->pvg_lines, f->n_pvg);
    free_names(f->errors, f->n_errors);
    free_names(f->crash_reports, f->n_crash);
    free(f->run_dir);
    free(f->log_path);
    free(f->screenshot);
    arena_free(&f->arena);
}

/* --- Redaction --- */

/* What to take out of a report: the ECID in its spellings, the user's home
 * (also URL-encoded), user names (full name, login, and any NAME of a
 * /Users/NAME path in the report, which a report made off the Mac carries),
 * host names made from them and this machine's name.  MAC addresses (every
 * common notation, and the IPv6 link-local address made from one) and home
 * directories are also found by their shape.  Redaction sees data only: the
 * report's own sentences are written around it, never through it. */
struct redaction {
    char ecid[5][24];       /* in each spelling redaction_add_ecid writes */
    bool has_ecid;
    char serial[16];        /* the VM's serial number (install --serial-number, often the user's Mac's), or "" */
    char names[8][128];     /* longest first: "Alice Liddell" goes before "alice" */
    size_t n_names;
    char host_prefixes[10][128];  /* "Alice-Liddell" of Alice-Liddells-MacBook-Pro.local */
    size_t n_host_prefixes;
    char host[256];         /* this machine's name, without its domain */
    char home[VM_PATH_MAX];
};

/* What redaction cannot know, said once in every redacted report. */
static const char *const redaction_limits =
    "Redacted: the ECID, the VM's serial number, MAC addresses, home folders, and the user and host names this Mac's password "
    "database and settings know; names that appear nowhere there (other people, a renamed Mac, a name "
    "typed into a log) are not known to macvm: read the report before sending it.";

/* What redaction writes.  A pass copies them whole and counts them as the
 * letters they stand for, so redacting a redacted text changes nothing. */
static const char *const placeholders[] = {"<ECID>", "<serial>", "<MAC>", "<user>", "<host>"};

/* Returns the length of a placeholder at p, or 0. */
static size_t placeholder_at(const char *p)
{
    for (size_t i = 0; i < sizeof placeholders / sizeof *placeholders; i++)
        if (strncmp(p, placeholders[i], strlen(placeholders[i])) == 0)
            return strlen(placeholders[i]);
    return 0;
}

/* Returns true when a placeholder ends just before p. */
static bool placeholder_before(const char *start, const char *p)
{
    for (size_t i = 0; i < sizeof placeholders / sizeof *placeholders; i++) {
        size_t n = strlen(placeholders[i]);
        if ((size_t)(p - start) >= n && strncmp(p - n, placeholders[i], n) == 0)
            return true;
    }
    return false;
}

static bool is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Returns true when the character before p belongs to a word (a placeholder counts as one). */
static bool joins_left(const char *start, const char *p)
{
    return p > start && (is_word_char(p[-1]) || placeholder_before(start, p));
}

/* Returns true when the character at p belongs to a word (a placeholder counts as one). */
static bool joins_right(const char *p)
{
    return is_word_char(*p) || placeholder_at(p);
}

/* Returns true when redaction's output ends just before p: a placeholder, or
 * the ~ of a home.  What it replaced may have ended in hex digits. */
static bool replaced_before(const char *start, const char *p)
{
    return placeholder_before(start, p) || (p > start && p[-1] == '~');
}

/* Returns true when the character before p is a hex digit (or may have been, before redaction). */
static bool hex_before(const char *start, const char *p)
{
    return p > start && (isxdigit((unsigned char)p[-1]) || replaced_before(start, p));
}

/* Returns true when the character at p is a hex digit (a placeholder counts as one). */
static bool hex_after(const char *p)
{
    return isxdigit((unsigned char)*p) || placeholder_at(p);
}

/* A match stands alone only when nothing of its kind goes on around it.  The
 * kind is a word's letters, or (hex) the digits of an address.  Returns true
 * when sep and more of that kind stand just before p ("com." before "apple",
 * "11de." before "ad01"). */
static bool continues_before(const char *start, const char *p, char sep, bool hex)
{
    return p > start && p[-1] == sep && (hex ? hex_before(start, p - 1) : joins_left(start, p - 1));
}

/* Returns true when what ends at p goes on: a word character, or sep and more of its kind. */
static bool goes_on(const char *p, char sep, bool hex)
{
    return joins_right(p) || (*p == sep && (hex ? hex_after(p + 1) : joins_right(p + 1)));
}

/* Returns whether w stands at p, in any case; a space in w stands for any
 * mark people join a first and last name with ("Alice.Liddell", "alice_liddell"). */
static bool spelled_at(const char *p, const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (w[i] == ' ' ? !p[i] || !strchr(" ._-", p[i]) : tolower((unsigned char)p[i]) != tolower((unsigned char)w[i]))
            return false;
    return true;
}

/* Returns true when the whole word w (at least 3 characters, any case) stands
 * at p.  A dot between letters joins words ("com.apple.x" holds no "apple"). */
static bool word_at(const char *p, const char *start, const char *w)
{
    size_t n = strlen(w);
    if (n < 3 || !spelled_at(p, w, n))
        return false;
    return !joins_left(start, p) && !continues_before(start, p, '.', false) && !goes_on(p + n, '.', false);
}

/* Returns the number of hex digits at p, at most max. */
static size_t hex_run(const char *p, size_t max)
{
    size_t n = 0;
    while (n < max && isxdigit((unsigned char)p[n]))
        n++;
    return n;
}

/* Returns the length of a group of min to max hex digits at p (no more follow), or 0. */
static size_t hex_group(const char *p, size_t min, size_t max)
{
    size_t n = hex_run(p, max + 1);
    return n >= min && n <= max ? n : 0;
}

/* Returns true when a group of 1 or 2 hex digits and sep end just before p:
 * p is then inside a longer chain than a MAC address ("fe80:0:0:1:2:3:4:5"). */
static bool chain_before(const char *start, const char *p, char sep)
{
    if (p - start < 2 || p[-1] != sep)
        return false;
    if (replaced_before(start, p - 1))
        return true;   /* what it replaced may have been such a group: decide as the first pass did */
    const char *q = p - 1;
    size_t k = 0;
    while (k < 2 && q > start && isxdigit((unsigned char)q[-1]))
        q--, k++;
    return k > 0 && !joins_left(start, q);
}

/* Returns the length of a MAC address at p, or 0.  Notations: colons or
 * dashes with one or two digits an octet ("8a:2c:11:de:ad:1", as arp prints
 * it), dots between groups of four ("8a2c.11de.ad01"), or twelve digits in a
 * row (but no 0x pointer and no UUID's last group). */
static size_t mac_at(const char *p, const char *start)
{
    if (joins_left(start, p) || !isxdigit((unsigned char)*p))
        return 0;
    for (const char *sep = ":-"; *sep; sep++) {
        const char *q = p;
        int groups = 0;
        for (size_t k; groups < 6 && (k = hex_group(q, 1, 2)); groups++) {
            q += k;
            if (groups < 5 && *q != *sep)
                break;
            if (groups < 5)
                q++;
        }
        if (groups == 6 && !chain_before(start, p, *sep) && !goes_on(q, *sep, true))
            return (size_t)(q - p);
    }
    if (hex_group(p, 4, 4) && p[4] == '.' && hex_group(p + 5, 4, 4) && p[9] == '.' && hex_group(p + 10, 4, 4) &&
        !continues_before(start, p, '.', true) && !goes_on(p + 14, '.', true))
        return 14;
    /* Its maker's half and the card's, as HP and some switches write it: 8A2C11-DEAD01. */
    if (hex_group(p, 6, 6) && p[6] == '-' && hex_group(p + 7, 6, 6) && !continues_before(start, p, '-', true) &&
        !goes_on(p + 13, '-', true))
        return 13;
    /* A 0x pointer joins the x; a UUID's last group follows a dash. */
    if (hex_group(p, 12, 12) && !continues_before(start, p, '-', true) && !joins_right(p + 12))
        return 12;
    return 0;
}

/* Returns the length of the interface identifier of an IPv6 address made
 * from a MAC address (EUI-64: "882c:11ff:fede:ad01" of fe80::882c:11ff:fede:ad01,
 * its first group maybe left out as zero), or 0. */
static size_t eui64_at(const char *p, const char *start)
{
    if (p == start || p[-1] != ':' || !isxdigit((unsigned char)*p))
        return 0;
    for (int skip_first = 0; skip_first < 2; skip_first++) {
        const char *q = p;
        if (!skip_first) {
            size_t k = hex_group(q, 1, 4);
            if (!k || q[k] != ':')
                continue;
            q += k + 1;
        }
        size_t k = hex_group(q, 2, 4);
        if (!k || strncasecmp(q + k - 2, "ff:fe", 5) != 0 || !hex_group(q + k + 3, 2, 2) || q[k + 5] != ':')
            continue;
        q += k + 6;
        size_t last = hex_group(q, 1, 4);
        if (!last || q[last] == ':' || joins_right(q + last))
            continue;
        return (size_t)(q + last - p);
    }
    return 0;
}

/* Returns the length of path at p, written plainly, JSON-escaped ("\/",
 * "\u002f") or URL-encoded ("%2F", "%20"); or 0. */
static size_t path_spelled_at(const char *p, const char *path)
{
    const char *q = p;
    for (; *path; path++) {
        unsigned hex;
        if (*q == *path)
            q++;
        else if (*path == '/' && q[0] == '\\' && q[1] == '/')
            q += 2;
        else if (*path == '/' && strncasecmp(q, "\\u002f", 6) == 0)
            q += 6;
        else if (q[0] == '%' && hex_run(q + 1, 2) == 2 && sscanf(q + 1, "%2x", &hex) == 1 &&
                 hex == (unsigned char)*path)
            q += 3;
        else
            return 0;
    }
    return (size_t)(q - p);
}

/* Returns the length of a home directory at p ("/Users/NAME", "/home/NAME",
 * JSON-escaped or URL-encoded), copying NAME (with %20 as a space) to name
 * unless it is NULL; or 0. */
static size_t home_at(const char *p, char *name, size_t size)
{
    static const char *const roots[] = {"/Users/", "/home/"};
    for (int i = 0; i < 2; i++) {
        size_t n = path_spelled_at(p, roots[i]), k = 0, len = 0;
        if (n == 0)
            continue;
        for (;;) {
            char c = p[n + k];
            if (isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-')
                k++;
            else if (strncmp(p + n + k, "%20", 3) == 0)
                k += 3, c = ' ';
            else
                break;
            if (name && len + 1 < size)
                name[len++] = c;
        }
        if (k == 0 || (k == 6 && strncmp(p + n, "Shared", 6) == 0))
            return 0;
        if (name)
            name[len] = 0;
        return n + k;
    }
    return 0;
}

/* Returns the length of this Mac's name, or a host name made from a user's
 * name ("Alices-MacBook-Pro", as macOS names a Mac; "alices-mbp.local", as
 * people rename it), with ".local"; or 0. */
static size_t host_at(const char *p, const char *start, const struct redaction *r)
{
    if (joins_left(start, p))
        return 0;
    size_t n = 0, hl = strlen(r->host);
    if (hl >= 3 && strncasecmp(p, r->host, hl) == 0 && !joins_right(p + hl) && p[hl] != '-')
        n = hl;
    for (size_t i = 0; i < r->n_host_prefixes && !n; i++) {
        size_t k = strlen(r->host_prefixes[i]);
        if (strncasecmp(p, r->host_prefixes[i], k) != 0)
            continue;
        if ((p[k] == 's' || p[k] == 'S') && p[k + 1] == '-')
            k++;
        if (p[k] != '-')
            continue;
        size_t end = k;
        while (isalnum((unsigned char)p[end]) || p[end] == '-')
            end++;
        char model[128];
        snprintf(model, sizeof model, "%.*s", (int)(end - k), p + k);
        if (strcasestr(model, "mac") || strncasecmp(p + end, ".local", 6) == 0)
            n = end;
    }
    if (n && strncasecmp(p + n, ".local", 6) == 0 && !joins_right(p + n + 6))
        n += 6;
    return n;
}

/* Returns the length of the secret at p and what replaces it, or 0. */
static size_t secret_at(const char *p, const char *text, const struct redaction *r, const char **with)
{
    size_t n;
    for (int i = 0; r->has_ecid && i < 5; i++) {
        /* A whole ECID is too long to occur by chance: it counts next to
         * letters and '_' too ("ECID_a1b2…", "board0xa1b2…"). */
        n = strlen(r->ecid[i]);
        if (n >= 10 ? strncasecmp(p, r->ecid[i], n) == 0 : word_at(p, text, r->ecid[i]))
            return *with = "<ECID>", n;
    }
    if (r->serial[0] && word_at(p, text, r->serial))
        return *with = "<serial>", strlen(r->serial);
    if ((n = host_at(p, text, r)))
        return *with = "<host>", n;
    for (size_t i = 0; i < r->n_names; i++)
        if (word_at(p, text, r->names[i]))
            return *with = "<user>", strlen(r->names[i]);
    if (strlen(r->home) > 1 && (n = path_spelled_at(p, r->home)) && !is_word_char(p[n]) && p[n] != '.')
        return *with = "~", n;
    if ((n = eui64_at(p, text)) || (n = mac_at(p, text)))
        return *with = "<MAC>", n;
    if ((n = home_at(p, NULL, 0)))
        return *with = "~", n;
    return 0;
}

/* Returns a redacted copy of text in out: ECIDs become <ECID>, MAC addresses
 * <MAC>, home directories ~, user names <user>, host names <host>.
 * Redacting the result again changes nothing. */
static void redact(struct buf *out, const char *text, const struct redaction *r)
{
    for (const char *p = text; *p;) {
        const char *with = NULL;
        size_t n = placeholder_at(p);
        if (n) {
            buf_add(out, p, n);
            p += n;
            continue;
        }
        if (!(n = secret_at(p, text, r, &with))) {
            buf_add(out, p++, 1);
            continue;
        }
        /* '/Users/a/VM bundle' becomes ~/'VM bundle': a shell expands no ~ inside quotes. */
        if (with[0] == '~' && out->len && out->data[out->len - 1] == '\'' && p[n] == '/') {
            out->len--;
            buf_puts(out, "~/'");
            n++;
        } else {
            buf_puts(out, with);
        }
        p += n;
    }
}

/* Adds a name to redact, without the punctuation around it ("Jr." is "Jr"),
 * keeping the list longest first so a full name goes before the login in it. */
static void redaction_add_name(struct redaction *r, const char *name, size_t len)
{
    while (len && !is_word_char(*name))
        name++, len--;
    while (len && !is_word_char(name[len - 1]))
        len--;
    if (len < 3 || len >= sizeof r->names[0] || r->n_names >= sizeof r->names / sizeof *r->names ||
        memchr(name, '<', len) || memchr(name, '>', len) ||   /* no name can hide in a placeholder */
        memchr(name, '~', len))                                /* or span the ~ a home became */
        return;
    for (size_t i = 0; i < r->n_names; i++)
        if (strlen(r->names[i]) == len && strncasecmp(r->names[i], name, len) == 0)
            return;
    size_t at = r->n_names++;
    while (at > 0 && strlen(r->names[at - 1]) < len) {
        memcpy(r->names[at], r->names[at - 1], sizeof r->names[0]);
        at--;
    }
    snprintf(r->names[at], sizeof r->names[0], "%.*s", (int)len, name);
}

/* Adds the ECID to redact, spelled as Apple's tools, logs and people write it. */
static void redaction_add_ecid(struct redaction *r, uint64_t ecid)
{
    static const char *const spellings[5] = {"0x%016" PRIx64, "0x%" PRIx64, "%016" PRIx64, "%" PRIx64, "%" PRIu64};
    r->has_ecid = true;
    for (int i = 0; i < 5; i++)
        snprintf(r->ecid[i], sizeof r->ecid[i], spellings[i], ecid);
}

static bool valid_serial_number(const char *s);

/* Adds the VM's serial number to redact, if s is one. */
static void redaction_add_serial(struct redaction *r, const char *s)
{
    if (valid_serial_number(s))
        snprintf(r->serial, sizeof r->serial, "%.15s", s);
}

/* Adds the start of a host name macOS makes from a name: "Alice Liddell"
 * names the Mac "Alice Liddell's MacBook Pro", host Alice-Liddells-MacBook-Pro. */
static void redaction_add_host_prefix(struct redaction *r, const char *name, size_t len)
{
    if (len < 3 || r->n_host_prefixes >= sizeof r->host_prefixes / sizeof *r->host_prefixes)
        return;
    char *out = r->host_prefixes[r->n_host_prefixes];
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < sizeof r->host_prefixes[0]; i++)
        if (name[i] != '\'')
            out[k++] = name[i] == ' ' ? '-' : name[i];
    out[k] = 0;
    if (k >= 3)
        r->n_host_prefixes++;
}

/* Sets the Mac's name to redact: host's first label, unless it is localhost
 * (also of localhost.localdomain), which names no Mac and is a common word in logs. */
static void redaction_set_host(struct redaction *r, const char *host)
{
    size_t n = strcspn(host, ".");
    if (n == 9 && strncasecmp(host, "localhost", 9) == 0)
        n = 0;
    snprintf(r->host, sizeof r->host, "%.*s", (int)n, host);
}

/* Reads the ECID a run had (run.json's spec.ecid, as ecid_text writes it).
 * Returns false when the run recorded none. */
static bool run_ecid(const struct plist *run, uint64_t *ecid)
{
    const char *s = plist_string(plist_dict(run, "spec"), "ecid");
    char *end;
    if (!s || strncasecmp(s, "0x", 2) != 0 || !isxdigit((unsigned char)s[2]))
        return false;
    errno = 0;
    *ecid = strtoull(s + 2, &end, 16);
    return errno == 0 && *end == 0;
}

/* Returns the serial number an install's recorded command gave
 * (--serial-number S, =S, or an abbreviation getopt took), or NULL. */
static const char *run_serial_number(const struct plist *run)
{
    const char *kind = plist_string(run, "kind");
    const struct plist *argv = plist_get(run, "command");
    for (size_t i = 0; kind && strcmp(kind, "install") == 0 && argv && argv->type == PLIST_ARRAY && i < argv->count;
         i++) {
        const struct plist *a = argv->items[i], *next = i + 1 < argv->count ? argv->items[i + 1] : NULL;
        size_t k = a->type == PLIST_STRING ? strcspn(a->string, "=") : 0;
        if (k < 3 || k > 15 || strncmp(a->string, "--serial-number", k) != 0)
            continue;
        if (a->string[k] == '=')
            return a->string + k + 1;
        return next && next->type == PLIST_STRING ? next->string : NULL;
    }
    return NULL;
}

/* What the bundle's run records say of the VM's identity, for when
 * MachineIdentifier cannot say: the ECID a run recorded and the serial
 * number an install gave, each from the newest record that has it. */
struct recorded_identity {
    bool has_ecid;
    uint64_t ecid;
    char serial[64];   /* "" when no install gave one */
};

static void recorded_identity(const char *bundle, struct recorded_identity *id)
{
    *id = (struct recorded_identity){0};
    char **runs;
    size_t n = bundle_runs(bundle, &runs);
    for (size_t i = n; i-- > 0 && !(id->has_ecid && id->serial[0]);) {
        struct arena a = {0};
        const struct plist *run = run_record_read(runs[i], &a);
        const char *serial = run_serial_number(run);
        if (!id->has_ecid)
            id->has_ecid = run_ecid(run, &id->ecid);
        if (!id->serial[0] && serial)
            snprintf(id->serial, sizeof id->serial, "%s", serial);
        arena_free(&a);
    }
    free_names(runs, n);
}

/* Fills the redaction for this user, this host, the report's bundle and the
 * report's text (its /Users/NAME paths). */
static void redaction_for(struct redaction *r, const struct feedback *f, const char *text)
{
    *r = (struct redaction){0};
    struct recorded_identity recorded;
    recorded_identity(f->bundle, &recorded);
    uint64_t ecid;
    if (f->has_ecid)
        redaction_add_ecid(r, f->ecid);
    else if (run_ecid(f->run, &ecid))   /* MachineIdentifier missing or damaged: the log still holds it */
        redaction_add_ecid(r, ecid);
    else if (recorded.has_ecid)   /* a run killed before it recorded one: an earlier run's */
        redaction_add_ecid(r, recorded.ecid);
    char serial[64];
    autofree char *id = path_join(f->bundle, BUNDLE_MACHINE_IDENTIFIER);
    redaction_add_serial(r, machine_identifier_serial(id, serial, sizeof serial) ? serial : recorded.serial);
    const char *user = getenv("USER");
    struct passwd *pw = getpwuid(getuid());
    if (user)
        redaction_add_name(r, user, strlen(user));
    if (pw && pw->pw_name)
        redaction_add_name(r, pw->pw_name, strlen(pw->pw_name));
    if (pw && pw->pw_gecos) {   /* "Alice Liddell,,,": the full name, and its first word for host names */
        redaction_add_name(r, pw->pw_gecos, strcspn(pw->pw_gecos, ","));
        redaction_add_host_prefix(r, pw->pw_gecos, strcspn(pw->pw_gecos, " ,"));
    }
    for (const char *p = text; *p; p++) {
        char name[128];
        if (home_at(p, name, sizeof name))
            redaction_add_name(r, name, strlen(name));
    }
    for (size_t i = 0; i < r->n_names; i++)
        redaction_add_host_prefix(r, r->names[i], strlen(r->names[i]));
    char host[256];
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = 0;
        redaction_set_host(r, host);
    }
    snprintf(r->home, sizeof r->home, "%s", home_dir());
    for (size_t n = strlen(r->home); n > 1 && r->home[n - 1] == '/'; n--)
        r->home[n - 1] = 0;
}

/* Returns the recorded command line of the run, shell-quoted, in b. */
static void feedback_command(struct buf *b, const struct feedback *f)
{
    const struct plist *argv = plist_get(f->run, "command");
    if (!argv || argv->type != PLIST_ARRAY || argv->count == 0) {
        buf_puts(b, "macvm run ");
        shell_quote(b, f->bundle);
        return;
    }
    buf_puts(b, "macvm");
    for (size_t i = 0; i < argv->count; i++) {
        if (argv->items[i]->type != PLIST_STRING)
            continue;
        buf_add(b, " ", 1);
        shell_quote(b, argv->items[i]->string);
    }
}

/* Appends a piece of data (a value from the bundle, the run or its log),
 * redacted when the report is.  The report's own sentences never go through
 * here: a user named "guest" or "mac" keeps "the guest" and "MAC address". */
static void feedback_data(struct buf *b, const struct feedback *f, const char *s)
{
    if (f->redaction)
        redact(b, s, f->redaction);
    else
        buf_puts(b, s);
}

/* Writes the suggested title in b, its data redacted when the report is. */
static void feedback_title(struct buf *b, const struct feedback *f)
{
    const char *result = run_string(f->run, "outcome", "result");
    const char *guest = f->config.installed_version[0] ? f->config.installed_version : "(unknown)";
    const char *host = run_string(f->run, "host", "os_version");
    const char *message = plist_string(plist_dict(plist_dict(f->run, "outcome"), "error"), "message");
    const char *kind = plist_string(f->run, "kind");
    bool install = kind && strcmp(kind, "install") == 0, error = result && strcmp(result, "error") == 0;
    const struct pvg_negotiation *last = &f->pvg.last;
    bool older = f->pvg.negotiations && last->guest_version > last->host_version;
    buf_puts(b, "Virtualization: ");
    if (error) {
        /* Redacted first, cut after: a cut never leaves half a secret to survive. */
        struct buf m = {0};
        feedback_data(&m, f, message ? message : "error");
        buf_puts(b, "\"");
        buf_add_cut(b, m.data ? m.data : "", 120);
        buf_printf(b, "\" %s", install ? "installing" : "running");
        buf_free(&m);
    } else if (install) {
        buf_puts(b, "problem installing");
    } else if (pvg_reset_loop(&f->pvg)) {
        buf_printf(b, "paravirtualized graphics renderer resets in a loop (%" PRIu64 " resets) with", f->pvg.resets);
    } else if (older) {
        buf_printf(b, "paravirtualized graphics renderer older than the guest expects (%u > %u) with",
                   last->guest_version, last->host_version);
    } else {
        buf_puts(b, "problem with");
    }
    buf_puts(b, " a macOS ");
    feedback_data(b, f, guest);
    buf_puts(b, " guest on macOS ");
    feedback_data(b, f, host ? host : "(unknown)");
    if (error && older)
        buf_printf(b, " (PVG renderer %u > %u)", last->guest_version, last->host_version);
}

/* Appends data to the Markdown report: redacted when the report is, its
 * control characters escaped so that no file's bytes draw on a terminal. */
static void md_data(struct buf *b, const struct feedback *f, const char *s)
{
    struct buf t = {0};
    feedback_data(&t, f, s);
    text_escaped(b, t.data ? t.data : "", t.len, false);
    buf_free(&t);
}

/* Appends fmt, the report's own words, with each %s (its only conversion)
 * replaced by a piece of data written by md_data. */
static void md_printf(struct buf *b, const struct feedback *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void md_printf(struct buf *b, const struct feedback *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (const char *at; (at = strstr(fmt, "%s")); fmt = at + 2) {
        buf_add(b, fmt, (size_t)(at - fmt));
        md_data(b, f, va_arg(ap, const char *));
    }
    buf_puts(b, fmt);
    va_end(ap);
}

/* Appends "- label: value" when value is known. */
static void md_item(struct buf *b, const struct feedback *f, const char *label, const char *value)
{
    if (value && *value) {
        buf_printf(b, "- %s: ", label);
        md_printf(b, f, "%s\n", value);
    }
}

static const char *md_known(const char *s)
{
    return s && *s ? s : "?";
}

/* Appends text (whole lines) as a fenced code block, the fence longer than
 * any run of backticks in it, so no log line can close the block early. */
static void md_block(struct buf *b, const char *text)
{
    size_t longest = 2;
    for (const char *p = text; (p = strchr(p, '`'));) {
        size_t run = strspn(p, "`");
        longest = run > longest ? run : longest;
        p += run;
    }
    struct buf fence = {0};
    while (fence.len <= longest)
        buf_add(&fence, "`", 1);
    buf_printf(b, "%s\n%s%s\n", fence.data, text, fence.data);
    buf_free(&fence);
}

/* Appends a fenced code block of data lines (with a count of what was left out). */
static void md_lines(struct buf *b, const struct feedback *f, char *const *lines, size_t n, size_t more)
{
    struct buf shown = {0};
    for (size_t i = 0; i < n; i++)
        md_printf(&shown, f, "%s\n", lines[i]);
    md_block(b, shown.data ? shown.data : "");
    if (more)
        buf_printf(b, "(%zu more lines in the attached log)\n", more);
    buf_free(&shown);
}

static const char *const sample_note =
    "This bundle has Apple's sample layout (Disk.img, AuxiliaryStorage, HardwareModel, MachineIdentifier): "
    "the same VM runs in Apple's sample project \"Running macOS in a Virtual Machine on Apple Silicon\", "
    "so the problem can be reproduced there without macvm.";

/* The host the run was on, as run.json recorded it. */
static void md_host(struct buf *b, const struct feedback *f, bool on_host)
{
    buf_puts(b, "## Host\n\n");
    const struct plist *host = plist_dict(f->run, "host");
    if (host && plist_string(host, "os_version")) {
        md_printf(b, f, "- Mac: %s (%s)\n", md_known(plist_string(host, "model")),
                  md_known(plist_string(host, "chip")));
        md_printf(b, f, "- macOS: %s (%s)\n", md_known(plist_string(host, "os_version")),
                  md_known(plist_string(host, "os_build")));
        md_item(b, f, "Virtualization.framework", plist_string(host, "virtualization_version"));
        md_item(b, f, "ParavirtualizedGraphics.framework", plist_string(host, "pvg_version"));
        if (!on_host)
            buf_puts(b, "- (recorded on the host at run time; this report was made on another machine)\n");
    } else {
        buf_puts(b, f->run_dir ? "- not recorded: the run has no run.json (macvm was killed, or the file is "
                                    "damaged)\n"
                    : on_host ? "- not recorded: the bundle has no run yet; run it with 'macvm run' first\n"
                              : "- not collected on the host: this report was made off the Mac, from a copied "
                                "bundle with no recorded run; run 'macvm feedback' on the Mac\n");
    }
}

static void md_guest(struct buf *b, const struct feedback *f)
{
    buf_puts(b, "\n## Guest\n\n");
    if (f->config.installed_version[0])
        md_printf(b, f, "- macOS: %s (%s)\n", f->config.installed_version, md_known(f->config.installed_build));
    else
        buf_puts(b, "- macOS: not recorded (a bundle made outside macvm)\n");
    md_item(b, f, "installed from", f->config.installed_from);
    if (f->has_hw) {
        buf_puts(b, "- hardware model: ");
        hardware_model_text(b, &f->hw);
        buf_add(b, "\n", 1);
    } else {
        md_printf(b, f, "- hardware model: unknown (HardwareModel: %s)\n", f->hw_problem);
    }
    if (f->has_ecid)
        md_item(b, f, "ECID", ecid_text(f->ecid).s);
    else
        md_printf(b, f, "- ECID: unknown (MachineIdentifier: %s)\n", f->ecid_problem);
}

/* Returns a number run.json recorded (at most max), or 0 when it did not. */
static uint64_t md_uint(const struct plist *dict, const char *key, uint64_t max)
{
    uint64_t n = 0;
    plist_uint(dict, key, max, &n);
    return n;
}

/* The configuration and start options of the run (or of the bundle, without one). */
static void md_configuration(struct buf *b, const struct feedback *f)
{
    char size[32];
    buf_puts(b, "\n## Configuration and start options\n\n");
    const struct plist *spec = plist_dict(f->run, "spec");
    if (!spec) {
        if (f->config.set & CONFIG_CPU)
            buf_printf(b, "- CPUs: %u\n", f->config.cpu_count);
        else
            buf_puts(b, "- CPUs: host cores - 1 (default)\n");
        buf_printf(b, "- memory: %s\n- display: %ux%u at %u ppi\n", human_size(size, sizeof size, f->config.memory_bytes),
                   f->config.display_width, f->config.display_height, f->config.display_ppi);
        md_item(b, f, "MAC address", f->config.mac_address);
        return;
    }
    const struct plist *disp = plist_dict(spec, "display"), *stub = plist_dict(spec, "debug_stub");
    const struct plist *disk = plist_dict(spec, "disk"), *shares = plist_get(spec, "shares");
    buf_printf(b, "- CPUs: %" PRIu64 "\n- memory: %s\n", md_uint(spec, "cpu_count", UINT32_MAX),
               human_size(size, sizeof size, md_uint(spec, "memory_bytes", UINT64_MAX)));
    buf_printf(b, "- display: %" PRIu64 "x%" PRIu64 " at %" PRIu64 " ppi\n", md_uint(disp, "width", UINT32_MAX),
               md_uint(disp, "height", UINT32_MAX), md_uint(disp, "pixels_per_inch", UINT32_MAX));
    buf_printf(b, "- network: %s\n", plist_string(spec, "mac_address") ? "NAT" : "NAT (address chosen by Virtualization)");
    md_item(b, f, "MAC address", plist_string(spec, "mac_address"));
    md_item(b, f, "start mode", plist_string(spec, "start_mode"));
    if (plist_bool(stub, "enabled", false)) {
        bool all = plist_bool(stub, "all_interfaces", false);
        uint64_t port;
        if (plist_uint(stub, "port", 65535, &port))
            buf_printf(b, "- debug stub: port %" PRIu64 "%s\n", port, all ? ", all interfaces" : ", localhost");
        else
            buf_printf(b, "- debug stub: port chosen by the system%s\n", all ? ", all interfaces" : "");
    }
    if (plist_string(spec, "boot_args"))
        md_printf(b, f, "- NVRAM boot-args: \"%s\"\n", plist_string(spec, "boot_args"));
    if (disk)
        md_printf(b, f, "- disk: caching %s, sync %s\n", plist_string_or_empty(disk, "caching"),
                  plist_string_or_empty(disk, "sync"));
    buf_printf(b, "- window: %s\n", plist_bool(spec, "headless", false) ? "none (headless)" : "yes");
    buf_printf(b, "- audio: %s\n", plist_bool(spec, "audio", false) ? "yes" : "no");
    if (plist_dict(spec, "console"))
        buf_puts(b, "- virtio console: yes\n");
    if (plist_dict(spec, "serial"))
        buf_puts(b, "- PL011 serial port: yes (experimental)\n");
    md_item(b, f, "on kernel panic (experimental)", plist_string(plist_dict(spec, "panic_action"), "action"));
    for (size_t i = 0; shares && shares->type == PLIST_ARRAY && i < shares->count; i++) {
        md_printf(b, f, "- shared folder: %s", plist_string_or_empty(shares->items[i], "name"));
        buf_printf(b, " (%s)\n", plist_bool(shares->items[i], "read_only", false) ? "read-only" : "read-write");
    }
    bool asked = plist_bool(spec, "restore_saved_state", false);
    bool done = plist_bool(plist_dict(f->run, "outcome"), "restored_state", false);
    buf_printf(b, "- saved state: %s\n", !asked ? "none (a fresh start)" : done ? "restored from SaveFile.vzvmsave"
                                               : "asked for, not restored (see below)");
}

static void md_reproduce(struct buf *b, const struct feedback *f)
{
    struct buf cmd = {0};
    feedback_command(&cmd, f);
    buf_puts(b, "\nTo reproduce:\n\n");
    md_lines(b, f, &cmd.data, 1, 0);
    buf_free(&cmd);
}

/* Returns whether the run's spec had a USB keyboard or pointer. */
static bool md_usb_input(const struct plist *spec)
{
    static const char *const lists[] = {"keyboards", "pointing_devices"};
    for (int i = 0; i < 2; i++) {
        const struct plist *list = plist_get(spec, lists[i]);
        for (size_t k = 0; list && list->type == PLIST_ARRAY && k < list->count; k++)
            if (list->items[k]->type == PLIST_STRING && strcmp(list->items[k]->string, "usb") == 0)
                return true;
    }
    return false;
}

/* "- label: DOMAIN code N: message" for an error run.json recorded. */
static void md_error(struct buf *b, const struct feedback *f, const char *label, const struct plist *err)
{
    if (!err)
        return;
    const struct plist *code = plist_get(err, "code");
    const char *domain = plist_string(err, "domain");
    buf_printf(b, "- %s: ", label);
    md_data(b, f, domain ? domain : "?");
    buf_printf(b, " code %s%" PRIu64 ": ", code && code->negative ? "-" : "", code ? code->magnitude : 0);
    md_printf(b, f, "%s\n", plist_string_or_empty(err, "message"));
}

/* The run's (or install's) outcome, errors and advice. */
static void md_outcome(struct buf *b, const struct feedback *f)
{
    buf_puts(b, "\n## What happened\n\n");
    const char *kind = plist_string(f->run, "kind");
    if (kind)   /* macvm's own words: never redacted */
        buf_printf(b, "- recorded: %s\n", strcmp(kind, "install") == 0 ? "an installation (macvm install)"
                                                                         : "a run (macvm run)");
    const struct plist *outcome = plist_dict(f->run, "outcome");
    if (!outcome) {
        buf_puts(b, f->run_dir ? "- the run's record (run.json) is missing or damaged\n"
                                   : "- no run recorded in this bundle\n");
        return;
    }
    md_item(b, f, "started", plist_string(f->run, "started"));
    md_item(b, f, "stopped", plist_string(f->run, "stopped"));
    md_item(b, f, "outcome", plist_string(outcome, "result"));
    md_error(b, f, "error", plist_dict(outcome, "error"));
    md_error(b, f, "the installer's log names", plist_dict(outcome, "installer_error"));
    md_item(b, f, "advice", plist_string(outcome, "advice"));
    md_item(b, f, "AuxiliaryStorage held by", plist_string(outcome, "held_by"));
    md_item(b, f, "saved state not restored because", plist_string(outcome, "restore_failure"));
    md_item(b, f, "state not saved because", plist_string(outcome, "save_failure"));
    /* The two below are macvm's own sentences: written as they are, never redacted. */
    const char *save_check = plist_string(outcome, "save_check");
    if (md_usb_input(plist_dict(f->run, "spec")) && save_check && strcmp(save_check, "supported") == 0)
        buf_puts(b, "- Virtualization's save check: supported with USB input devices, where macvm predicted it "
                    "could not save (a rule of macvm's is too strict: please report it)\n");
    md_item(b, f, "network disconnected during the run", plist_string(outcome, "network_disconnected"));
    const char *port_source = plist_string(outcome, "debug_stub_port_source");
    if (port_source && strcmp(port_source, "reported") != 0)
        buf_printf(b, "- debug stub port: %s\n", strcmp(port_source, "unknown") == 0
                                                     ? "unknown (this macOS did not report it)"
                                                     : "as asked (this macOS did not report it)");
}

/* Redacts and escapes, in place, a piece of the log's data kept in a fixed field. */
static void md_clean(char *field, size_t size, const struct feedback *f)
{
    struct buf t = {0};
    md_data(&t, f, field);
    snprintf(field, size, "%s", t.data ? t.data : "");
    buf_free(&t);
}

/* Says why the report holds no line of the run's log. */
static void md_no_log(struct buf *b, const struct feedback *f)
{
    if (f->log_problem[0])
        md_printf(b, f, "- the run's log cannot be read: %s\n", f->log_problem);
    else
        buf_puts(b, "- no log recorded for this run\n");
}

/* The PVG negotiation with its verdict, and the PVG lines. */
static void md_pvg(struct buf *b, const struct feedback *f)
{
    buf_puts(b, "\n## Paravirtualized graphics\n\n");
    if (f->pvg.negotiations) {
        char verdict[512];
        pvg_verdict_text(verdict, sizeof verdict, &f->pvg.last);
        md_printf(b, f, "- negotiation at %s", f->pvg.last.timestamp);
        buf_printf(b, ": guest requested %u, host set %u\n- verdict: %s\n", f->pvg.last.guest_version,
                   f->pvg.last.host_version, verdict);
    } else if (f->has_log) {
        buf_puts(b, "- no version negotiation in the run's log\n");
    } else {
        md_no_log(b, f);
    }
    if (f->has_log)
        buf_printf(b, "- renderer resets: %" PRIu64 " device resets, %" PRIu64 " displays destroyed and created again\n",
                   f->pvg.resets, f->pvg.display_cycles);
    if (pvg_reset_loop(&f->pvg)) {
        buf_puts(b, "- reset loop: ");
        pvg_loop_text(b, &f->pvg);
        buf_puts(b, "\n\nTimeline:\n\n");
        /* Its times and last event are the log's data: redacted and escaped. */
        struct buf t = {0};
        struct pvg_watch shown = f->pvg;
        md_clean(shown.first.timestamp, sizeof shown.first.timestamp, f);
        for (size_t i = 0; i < PVG_TIMELINE_RESETS; i++)
            md_clean(shown.reset_times[i], sizeof shown.reset_times[i], f);
        md_clean(shown.last_reset, sizeof shown.last_reset, f);
        md_clean(shown.last_time, sizeof shown.last_time, f);
        md_clean(shown.last_message, sizeof shown.last_message, f);
        pvg_timeline(&t, &shown);
        md_block(b, t.data ? t.data : "");
        buf_free(&t);
    }
    if (f->n_pvg)
        md_lines(b, f, f->pvg_lines, f->n_pvg, f->more_pvg);
}

static void md_errors(struct buf *b, const struct feedback *f)
{
    buf_puts(b, "\n## Virtualization errors and faults\n\n");
    if (f->n_errors)
        md_lines(b, f, f->errors, f->n_errors, f->more_errors);
    else if (f->has_log)
        buf_puts(b, "- none in the run's log\n");
    else
        md_no_log(b, f);
}

/* What the guest printed on its console and serial port, where the run recorded them. */
static void md_ports(struct buf *b, const struct feedback *f)
{
    const struct port_tail *ports[] = {&f->console, &f->serial};
    const char *names[] = {"console (/dev/cu.virtio)", "serial port (PL011 UART)"};
    if (!f->console.exists && !f->serial.exists)
        return;
    buf_puts(b, "\n## Guest console and serial\n\n");
    for (int i = 0; i < 2; i++) {
        if (!ports[i]->exists)
            continue;
        buf_printf(b, "- %s: ", names[i]);
        md_printf(b, f, "`%s`", ports[i]->path);
        buf_puts(b, ports[i]->n ? ", its last lines:\n"
                                : ", empty (the guest prints there only when told to: see the README)\n");
        if (ports[i]->n)
            md_lines(b, f, (char *const *)ports[i]->lines, ports[i]->n, 0);
    }
}

/* The files to attach: the run's log and record, and crash reports. */
static void md_attachments(struct buf *b, const struct feedback *f)
{
    buf_puts(b, "\n## Attachments to add\n\n(These files are not redacted: they hold the ECID and MAC address. "
                "Attach them only to a report Apple may see them in.)\n\n");
    if (f->has_log)
        md_printf(b, f, "- the run's log: `%s`\n", f->log_path);
    if (f->run) {
        autofree char *record = path_join(f->run_dir, "run.json");
        md_printf(b, f, "- the run's record: `%s`\n", record);
    }
    if (f->console.exists)
        md_printf(b, f, "- the guest's console: `%s`\n", f->console.path);
    if (f->serial.exists)
        md_printf(b, f, "- the guest's serial port: `%s`\n", f->serial.path);
    if (f->has_screenshot)
        md_printf(b, f, "- the screen as the run ended: `%s`\n", f->screenshot);
    for (size_t i = 0; i < f->n_crash; i++)
        md_printf(b, f, "- crash report: `%s`\n", f->crash_reports[i]);
    if (!f->n_crash)
        buf_puts(b, "- crash reports of the VM process from the run's time: none found in "
                    "~/" CRASH_REPORTS "/" CRASH_PREFIX "-*.ips\n");
}

/* What the host's Virtualization had, as the run recorded it (doctor --probe). */
static void md_probe(struct buf *b, const struct feedback *f)
{
    const struct plist *probe = plist_get(f->run, "probe");
    if (!probe || probe->type != PLIST_ARRAY || !probe->count)
        return;
    buf_puts(b, "\n## What this Mac's Virtualization has (doctor --probe)\n\n");
    for (size_t i = 0; i < probe->count; i++) {
        const struct plist *row = probe->items[i];
        md_printf(b, f, "- %s: %s (%s)\n", plist_string_or_empty(row, "feature"), plist_string_or_empty(row, "status"),
                  plist_string_or_empty(row, "detail"));
    }
}

static void feedback_markdown(struct buf *b, const struct feedback *f, bool on_host)
{
    struct buf t = {0};
    feedback_title(&t, f);
    buf_puts(b, "# Feedback report: Virtualization\n\n**Suggested title:** ");
    text_escaped(b, t.data, t.len, false);
    buf_puts(b, "\n\n**Area:** Virtualization\n\n");
    if (f->redaction)
        buf_printf(b, "**Redaction:** %s\n\n", redaction_limits);
    buf_free(&t);
    md_host(b, f, on_host);
    md_probe(b, f);
    md_guest(b, f);
    md_configuration(b, f);
    md_reproduce(b, f);
    md_outcome(b, f);
    md_pvg(b, f);
    md_errors(b, f);
    md_ports(b, f);
    md_attachments(b, f);
    buf_printf(b, "\n## Note\n\n%s\n", sample_note);
}

/* ============================ 7. Host checks ============================ */

/* `macvm doctor`: what this host can do, each check with what to do about it.
 * The facts come from the bridge (entitlements, limits), from the system's
 * version.plist files under a root ("" on the host; the tests pass a fixture
 * tree), and from the process table.  `macvm doctor --probe` answers in the
 * same shape for each feature of Virtualization macvm uses: both are a probe,
 * rows of a name, a status and what to do about it, only their words differ. */

enum status {
    CHECK_PASS, CHECK_WARN, CHECK_FAIL, CHECK_SKIP,                     /* a host check */
    PROBE_AVAILABLE, PROBE_MISSING, PROBE_NEEDS_PRIVATE, PROBE_FAILED,  /* a feature */
};

static const char *const status_names[] = {
    "pass", "warn", "fail", "skip", "available", "missing", "needs-private-entitlement", "failed",
};

/* What a missing entitlement costs and how to get it, said alike by doctor and the probe. */
static const char *const no_virtualization_entitlement =
    "macvm lacks com.apple.security.virtualization: build with 'make' (it signs), or "
    "'codesign -s - -f --entitlements macvm.entitlements macvm'";
static const char *const no_private_entitlement =
    "no com.apple.private.virtualization: --debug-stub, --serial and install --serial-number are refused, "
    "everything else works.  " SIGN_PRIVATE_HINT;

/* What doctor found, in the order each row was first set; run.json keeps a run's. */
struct probe {
    struct probe_result {
        const char *name;
        enum status status;
        char detail[512];
    } rows[48];
    size_t n;
};

/* Returns the row called name, or NULL. */
static struct probe_result *probe_find(struct probe *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->rows[i].name, name) == 0)
            return &p->rows[i];
    return NULL;
}

/* Sets the row called name, adding it at the end when new (dropped when the table is full). */
static void probe_set(struct probe *p, const char *name, enum status status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void probe_set(struct probe *p, const char *name, enum status status, const char *fmt, ...)
{
    struct probe_result *r = probe_find(p, name);
    if (!r && p->n == sizeof p->rows / sizeof *p->rows)
        return;
    if (!r)
        r = &p->rows[p->n++];
    r->name = name;
    r->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

/* Returns the status of the row called name (PROBE_MISSING when there is none). */
static enum status probe_status_of(struct probe *p, const char *name)
{
    const struct probe_result *r = probe_find(p, name);
    return r ? r->status : PROBE_MISSING;
}

/* Returns doctor's exit code: 0 unless a row failed (then EX_UNAVAILABLE). */
static int doctor_exit(const struct probe *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->rows[i].status == CHECK_FAIL || p->rows[i].status == PROBE_FAILED)
            return EX_UNAVAILABLE;
    return 0;
}

/* Appends p as a JSON array of {check, status, detail}, or {feature, ...} for a feature's row. */
static void probe_json(struct json *j, const char *key, const struct probe *p)
{
    json_open(j, key, '[');
    for (size_t i = 0; i < p->n; i++) {
        const struct probe_result *r = &p->rows[i];
        json_open(j, NULL, '{');
        json_str(j, r->status < PROBE_AVAILABLE ? "check" : "feature", r->name);
        json_str(j, "status", status_names[r->status]);
        json_str(j, "detail", r->detail);
        json_close(j, '}');
    }
    json_close(j, ']');
}

/* Appends p for people: one line per row, its status first; the host checks'
 * columns and the features' each fit their own words. */
static void probe_text(struct buf *b, const struct probe *p)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct probe_result *r = &p->rows[i];
        bool check = r->status < PROBE_AVAILABLE;
        buf_printf(b, "%-*s %-*s ", check ? 5 : 25, status_names[r->status], check ? 28 : 19, r->name);
        text_escaped(b, r->detail, strlen(r->detail), false);   /* a path in it stays on its row */
        buf_add(b, "\n", 1);
    }
}

#define FREE_SPACE_GOOD (80ull << 30)   /* an install needs the image's size and the disk's growth */
#define FREE_SPACE_LOW (30ull << 30)
#define VM_LIMIT 2                      /* the macOS licence: two macOS VMs at once */

/* Counts the running Virtualization VM processes.  Returns -1 where it cannot. */
static int count_running_vms(void)
{
#ifdef __APPLE__
    int n = proc_listallpids(NULL, 0);
    if (n <= 0)
        return -1;
    pid_t *pids = xcalloc((size_t)n + 16, sizeof *pids);
    n = proc_listallpids(pids, (int)(((size_t)n + 16) * sizeof *pids));
    int vms = 0;
    for (int i = 0; i < n; i++) {
        char path[PROC_PIDPATHINFO_MAXSIZE];
        if (proc_pidpath(pids[i], path, sizeof path) > 0 && strstr(path, "/com.apple.Virtualization.VirtualMachine"))
            vms++;
    }
    free(pids);
    return vms;
#else
    return -1;
#endif
}

/* Reads MobileDevice.framework's version below root, as its CFBundleVersion
 * ("1784.120.3"), the number an image's MobileDeviceMinVersion is compared
 * with.  Returns false when it is not there. */
static bool mobile_device_version(const char *root, char *out, size_t size)
{
    autofree char *path = path_join(root, "System/Library/PrivateFrameworks/MobileDevice.framework/Versions/A/"
                                    "Resources/version.plist");
    struct arena a = {0};
    struct error e = {0};
    struct plist *v = plist_read_file(path, SMALL_FILE_MAX, &a, &e);
    const char *s = plist_string(v, "CFBundleVersion");
    if (!s)
        s = plist_string(v, "CFBundleShortVersionString");
    if (s)
        snprintf(out, size, "%s", s);
    arena_free(&a);
    return s != NULL;
}

/* Checks the host's macOS against what the image states it needs. */
static void doctor_host_os(struct probe *d, const struct host_info *host, const struct ipsw_info *img)
{
    if (!img->min_host_os)
        return;   /* the image states no minimum */
    if (!host->available)
        probe_set(d, "host macOS for the image", CHECK_SKIP, "the image needs macOS %s or later on the host; "
                  "not checked off macOS", img->min_host_os);
    else if (version_compare(host->os_version, img->min_host_os) >= 0)
        probe_set(d, "host macOS for the image", CHECK_PASS, "this Mac runs %s; the image asks for %s or later "
                  "(a hint: Virtualization decides)", host->os_version, img->min_host_os);
    else
        probe_set(d, "host macOS for the image", CHECK_FAIL, "this Mac runs %s; macOS %s needs %s or later on "
                  "the host: update macOS, or pick an older image", host->os_version, img->product_version,
                  img->min_host_os);
}

/* Checks what an image needs of the host: a VM build, macOS version, MobileDevice. */
static void doctor_image(struct probe *d, const struct host_info *host, const struct ipsw_info *img,
                         const char *root)
{
    const char *needs = img->mobile_device_min_version;
    char md[64];
    if (!ipsw_vm_capable(img))
        probe_set(d, "image", CHECK_FAIL, "this image (version %s, build %s) does not install in a VM; download a "
                  "restore image for Apple Silicon Macs (UniversalMac_*_Restore.ipsw)", img->product_version, img->build);
    doctor_host_os(d, host, img);
    if (!needs)
        return;
    if (!mobile_device_version(root, md, sizeof md))
        probe_set(d, "MobileDevice", host->available ? CHECK_WARN : CHECK_SKIP,
                  "the image needs MobileDevice %s or later; %s", needs,
                  host->available ? "none found on this Mac: install Xcode and open it once" : "not checked off macOS");
    else if (version_compare(md, needs) >= 0)
        probe_set(d, "MobileDevice", CHECK_PASS, "%s on this Mac; the image needs %s", md, needs);
    else
        probe_set(d, "MobileDevice", CHECK_FAIL, "%s on this Mac, older than the %s the image needs (install fails "
                  "with error 10007): install the newest Xcode (a beta for a beta guest) and open it once", md, needs);
}

/* Adds the checks of the image at path, or a failed `image` check with its error in *e. */
static void doctor_ipsw(struct probe *d, const struct host_info *host, const char *path, struct error *e)
{
    struct ipsw_info img;
    if (ipsw_inspect(path, &img, e) == 0)
        doctor_image(d, host, &img, "");
    else   /* one more failed check: the host's are still worth seeing */
        probe_set(d, "image", CHECK_FAIL, "%s: %s", path, e->text);
    ipsw_free(&img);
}

/* Returns the first line `xcode_select -p` prints: the active developer
 * folder, where the compiler make needs lives; NULL when there is none. */
static char *developer_dir(const char *xcode_select)
{
    char *argv[] = {(char *)xcode_select, "-p", NULL}, *line = NULL;
    struct error e = {0};
    size_t cap = 0;
    int fd, status;
    pid_t pid = spawn_reader(argv, &fd, &e);
    if (pid < 0)
        return NULL;
    FILE *f = fdopen(fd, "r");
    ssize_t n = f ? getline(&line, &cap, f) : -1;
    if (f)
        fclose(f);
    else
        close(fd);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || n <= 0 || *line == '\n') {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\n")] = 0;
    return line;
}

/* What building macvm needs on a Mac (the Makefile's `make run` checks the
 * same before compiling): the Command Line Tools, and codesign to give the
 * binary its entitlement.  The programs are parameters so the tests can
 * stand in for them; doctor_run calls this on a Mac only. */
static void doctor_build_tools(struct probe *d, const char *xcode_select, const char *codesign)
{
    autofree char *dir = developer_dir(xcode_select);
    if (dir)
        probe_set(d, "Command Line Tools", CHECK_PASS, "%s", dir);
    else
        probe_set(d, "Command Line Tools", CHECK_WARN, "none found; rebuilding macvm needs them: "
                  "xcode-select --install");
    if (access(codesign, X_OK) == 0)
        probe_set(d, "codesign", CHECK_PASS, "%s", codesign);
    else
        probe_set(d, "codesign", CHECK_WARN, "%s not found; macvm cannot be signed with its entitlement: "
                  "xcode-select --install", codesign);
}

/* Runs every host check.  bundle locates the volume to check for space. */
static void doctor_run(struct probe *d, const struct host_info *host, const char *bundle)
{
    struct utsname u;
    uname(&u);
    bool arm = strcmp(u.machine, "arm64") == 0 || strcmp(u.machine, "aarch64") == 0;
    bool mac = on_macos();
    probe_set(d, "Apple Silicon", mac && arm ? CHECK_PASS : CHECK_FAIL, mac && arm ? "%s" :
              "this is %s; macOS VMs need a Mac with Apple Silicon (inspection and reports work anywhere)",
              u.machine);
    if (!mac)
        probe_set(d, "macOS", CHECK_FAIL, "this is %s, not macOS; run macvm on a Mac to run VMs", u.sysname);
    else if (!host->available)
        probe_set(d, "macOS", CHECK_FAIL, "Virtualization is not available here (macOS 12 or later on Apple Silicon)");
    else
        probe_set(d, "macOS", version_compare(host->os_version, "12") >= 0 ? CHECK_PASS : CHECK_FAIL,
                  "%s (%s)%s", host->os_version, host->os_build,
                  version_compare(host->os_version, "14") < 0 ? "; saved state needs macOS 14" : "");
    if (mac)
        doctor_build_tools(d, "/usr/bin/xcode-select", "/usr/bin/codesign");
    else
        probe_set(d, "build tools", CHECK_SKIP, "Command Line Tools and codesign: not checked off macOS");
    if (host->available) {
        probe_set(d, "virtualization entitlement", host->has_virtualization_entitlement ? CHECK_PASS : CHECK_FAIL,
                  host->has_virtualization_entitlement ? "macvm is signed with com.apple.security.virtualization"
                  : no_virtualization_entitlement);
        probe_set(d, "private entitlement", host->has_private_entitlement ? CHECK_PASS : CHECK_WARN,
                  host->has_private_entitlement ? "com.apple.private.virtualization: --debug-stub, --serial and "
                    "install --serial-number are available"
                  : no_private_entitlement);
    } else {
        probe_set(d, "entitlements", CHECK_SKIP, "not checked off macOS");
    }
    autofree char *dir = is_directory(bundle) ? xstrdup(bundle) : path_dir(bundle);
    char size[32];
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0) {
        probe_set(d, "free space", CHECK_WARN, "cannot read the volume of %s: %s", dir, strerror(errno));
    } else {
        uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
        probe_set(d, "free space", avail >= FREE_SPACE_GOOD ? CHECK_PASS : avail >= FREE_SPACE_LOW ? CHECK_WARN
                  : CHECK_FAIL, "%s free on the volume of %s%s", human_size(size, sizeof size, avail), dir,
                  avail >= FREE_SPACE_GOOD ? "" : "; an install needs about 80 GiB (the image and the disk's growth)");
    }
    int vms = count_running_vms();
    if (vms < 0)
        probe_set(d, "running VMs", CHECK_SKIP, "not counted off macOS");
    else
        probe_set(d, "running VMs", vms < VM_LIMIT ? CHECK_PASS : CHECK_WARN, "%d of the %d macOS VMs the licence "
                  "allows at once%s", vms, VM_LIMIT, vms < VM_LIMIT ? "" : ": stop one before starting another");
}

/* --- doctor --probe: what this Mac's Virtualization really has --- */

/* `macvm doctor --probe` looks up, without booting anything, every class and
 * method macvm uses; the bridge only answers "present?" (bridge_has).  One
 * entry of probe_features per feature, with one way of reaching it per range
 * of host macOS versions, as ../shared/tools/vz-private-check reads them from
 * class dumps of macOS 12.1 to 26.4.  Add a feature by adding its entry. */
struct probe_way {
    const char *from;                   /* the first host macOS it is for; it lasts until the next way's */
    bool private_api;                   /* looked up by name at run time: experimental */
    const char *note;                   /* what "available" means on these versions; NULL: the feature's note */
    const char *names[4];               /* "Class", "Class selector:" (an instance method) or "Class +selector:"
                                         * (a class method); all needed */
};

struct probe_feature {
    const char *name;
    bool private_entitlement;           /* Virtualization refuses it without com.apple.private.virtualization */
    const char *note;                   /* what "available" means for it */
    struct probe_way ways[4];           /* oldest first */
};

static const struct probe_feature probe_features[] = {
    {"install", false, "restore images load and install",
     {{"12", false, NULL, {"VZMacOSRestoreImage", "VZMacOSInstaller initWithVirtualMachine:restoreImageURL:"}}}},
    {"window", false, "a window shows the VM",
     {{"12", false, NULL, {"VZVirtualMachineView", "VZMacGraphicsDeviceConfiguration", "NSApplication"}}}},
    {"mac-trackpad", false, "the Mac trackpad, for macOS 13+ guests",
     {{"13", false, NULL, {"VZMacTrackpadConfiguration"}}}},
    {"mac-keyboard", false, "the Mac keyboard, for macOS 14+ guests (part of Apple's save set)",
     {{"14", false, NULL, {"VZMacKeyboardConfiguration"}}}},
    {"disk-modes", false, "--disk-cache and --disk-sync",
     {{"12", false, NULL,
       {"VZDiskImageStorageDeviceAttachment initWithURL:readOnly:cachingMode:synchronizationMode:error:"}}}},
    {"recovery", false, "--recovery (macOS 12: private start options)",
     {{"12", true, NULL, {"_VZVirtualMachineStartOptions setBootMacOSRecovery:",
                          "VZVirtualMachine _startWithOptions:completionHandler:"}},
      {"13", false, "--recovery", {"VZMacOSVirtualMachineStartOptions setStartUpFromMacOSRecovery:"}}}},
    {"dfu", false, "--dfu",
     {{"12", true, NULL, {"_VZVirtualMachineStartOptions setForceDFU:",
                          "VZVirtualMachine _startWithOptions:completionHandler:"}},
      {"13", true, NULL, {"VZMacOSVirtualMachineStartOptions _setForceDFU:"}}}},
    {"iboot-stage1", false,
     "--iboot-stage1: the selector exists; the VM may boot normally anyway (reported on 13.4 and 14)",
     {{"12", true, NULL, {"_VZVirtualMachineStartOptions setStopInIBootStage1:",
                          "VZVirtualMachine _startWithOptions:completionHandler:"}},
      {"13", true, NULL, {"VZMacOSVirtualMachineStartOptions _setStopInIBootStage1:"}}}},
    {"iboot-stage2", false,
     "--iboot-stage2: the selector exists; the VM may boot normally anyway (reported on 13.4 and 14)",
     {{"12", true, NULL, {"_VZVirtualMachineStartOptions setStopInIBootStage2:",
                          "VZVirtualMachine _startWithOptions:completionHandler:"}},
      {"13", true, NULL, {"VZMacOSVirtualMachineStartOptions _setStopInIBootStage2:"}}}},
    {"debug-stub", true, "--debug-stub",
     {{"12", true, NULL, {"_VZGDBDebugStubConfiguration initWithPort:",
                          "_VZGDBDebugStubConfiguration setListensOnAllNetworkInterfaces:",
                          "VZVirtualMachineConfiguration _setDebugStub:"}}}},
    {"debug-stub-port", true,
     "the stub's port can be asked for; nobody has seen it answer yet (macvm says \"port unknown\" when it does not)",
     {{"12", true, NULL, {"VZVirtualMachine _debugStub", "_VZGDBDebugStub port"}}}},
    {"boot-args", false, "--boot-args",
     {{"12", true, NULL, {"VZMacAuxiliaryStorage _setValue:forNVRAMVariableNamed:error:",
                          "VZMacAuxiliaryStorage _valueForNVRAMVariableNamed:error:",
                          "VZMacAuxiliaryStorage _removeNVRAMVariableNamed:error:"}},
      {"14", true, NULL, {"VZMacAuxiliaryStorage _setDataValue:forNVRAMVariableNamed:error:",
                          "VZMacAuxiliaryStorage _valueForNVRAMVariableNamed:error:",
                          "VZMacAuxiliaryStorage _removeNVRAMVariableNamed:error:"}}}},
    {"save-restore", false, "Quit and --save-on-stop save the state; the next run restores it",
     {{"14", false, NULL, {"VZVirtualMachine saveMachineStateToURL:completionHandler:",
                           "VZVirtualMachine restoreMachineStateFromURL:completionHandler:",
                           "VZVirtualMachineConfiguration validateSaveRestoreSupportWithError:"}}}},
    {"console", false, "--console: the guest's /dev/cu.virtio to console.log",
     {{"12", false, NULL, {"VZVirtioConsoleDeviceSerialPortConfiguration",
                           "VZFileHandleSerialPortAttachment initWithFileHandleForReading:fileHandleForWriting:"}}}},
    {"serial", true, "--serial: the PL011 UART to serial.log",
     {{"12", true, NULL, {"_VZPL011SerialPortConfiguration", "VZSerialPortConfiguration setAttachment:"}}}},
    {"panic-action", false, "--panic: panicAction of the private start options (1 halts, 0 restarts)",
     {{"12", true, NULL, {"_VZVirtualMachineStartOptions setPanicAction:",
                          "VZVirtualMachine _startWithOptions:completionHandler:"}},
      {"13", true,
       "--panic: _setPanicAction: of the start options (1 halts, 0 restarts)",
       {"VZVirtualMachineStartOptions _setPanicAction:"}},
      {"14", true,
       "--panic: _setPanicAction: of the start options (1 halts, 0 restarts) and a panic device",
       {"VZVirtualMachineStartOptions _setPanicAction:", "_VZPvPanicDeviceConfiguration",
        "VZVirtualMachineConfiguration _setPanicDevice:"}},
      {"26", true,
       "--panic: _setPanicAction: of the configuration (1 halts, 0 restarts) and a panic device",
       {"VZVirtualMachineConfiguration _setPanicAction:", "_VZPvPanicDeviceConfiguration",
        "VZVirtualMachineConfiguration _setPanicDevice:"}}}},
    {"shares", false, "--share: the guest mounts it by hand (mount_virtiofs macvm DIR)",
     {{"12", false, NULL, {"VZVirtioFileSystemDeviceConfiguration initWithTag:",
                           "VZMultipleDirectoryShare initWithDirectories:", "VZSharedDirectory initWithURL:readOnly:"}},
      {"13", false,
       "--share: in the guest as /Volumes/My Shared Files/NAME",
       {"VZVirtioFileSystemDeviceConfiguration initWithTag:", "VZMultipleDirectoryShare initWithDirectories:",
        "VZSharedDirectory initWithURL:readOnly:", "VZVirtioFileSystemDeviceConfiguration +macOSGuestAutomountTag"}}}},
    {"screenshot", false, "--screenshot: the display to screen.png as an error or Ctrl-C ends the run",
     {{"14", true, NULL, {"VZGraphicsDisplay _takeScreenshotWithCompletionHandler:"}},
      {"15.4", true,
       "--screenshot: present, but VirtualBuddy turned it off on 15.4+ after a bug there; macvm gives up after 5 s "
       "and says so",
       {"VZGraphicsDisplay _takeScreenshotWithCompletionHandler:"}}}},
    {"serial-number", true, "install --serial-number",
     {{"13", true, NULL, {"_VZMacSerialNumber initWithString:",
                          "VZMacMachineIdentifier +_machineIdentifierWithSerialNumber:",
                          "VZMacMachineIdentifier _serialNumber"}}}},
    {"new-identity", false, "clone --new-identity: a clone's own ECID, the ECID checks off",
     {{"13", true, NULL, {"VZMacMachineIdentifier +_machineIdentifierForVirtualMachineCloneWithSerialNumber:",
                          "VZMacMachineIdentifier _serialNumber"}}}},
};

/* Asks the bridge for each of way's names; returns the first one missing, or NULL. */
static const char *probe_way_missing(const struct probe_way *way)
{
    for (size_t i = 0; i < sizeof way->names / sizeof *way->names && way->names[i]; i++) {
        char cls[128];
        const char *name = way->names[i], *space = strchr(name, ' ');
        snprintf(cls, sizeof cls, "%.*s", space ? (int)(space - name) : (int)strlen(name), name);
        if (!bridge_has(cls, space ? space + 1 : NULL))
            return name;
    }
    return NULL;
}

/* Decides the status of feature f on host from its way for the host's macOS version. */
static void probe_feature(struct probe *p, const struct probe_feature *f, const struct host_info *host)
{
    size_t n = 0;
    while (n < sizeof f->ways / sizeof *f->ways && f->ways[n].from)
        n++;
    size_t i = n;
    while (i > 0 && version_compare(host->os_version, f->ways[i - 1].from) < 0)
        i--;
    if (i == 0) {
        probe_set(p, f->name, PROBE_MISSING, "needs macOS %s or later (this Mac runs %s)", f->ways[0].from,
                  host->os_version);
        return;
    }
    const struct probe_way *way = &f->ways[i - 1];
    const char *missing = probe_way_missing(way), *before = i < n ? f->ways[i].from : NULL;
    const char *experimental = way->private_api ? "experimental (private API): " : "";
    if (missing)
        probe_set(p, f->name, PROBE_MISSING, "macOS %s lacks %s (class dumps show it on macOS %s%s%s)",
                  host->os_version, missing, way->from, before ? " to before " : " and later", before ? before : "");
    else if (f->private_entitlement && !host->has_private_entitlement)
        probe_set(p, f->name, PROBE_NEEDS_PRIVATE, "%spresent, but Virtualization refuses it without "
                  "com.apple.private.virtualization (README: Debugging the guest)", experimental);
    else
        probe_set(p, f->name, PROBE_AVAILABLE, "%s%s", experimental, way->note ? way->note : f->note);
}

/* Fills *p with both entitlements and every feature of probe_features, in table order. */
static void probe_host(struct probe *p, const struct host_info *host)
{
    p->n = 0;
    probe_set(p, "entitlement", host->has_virtualization_entitlement ? PROBE_AVAILABLE : PROBE_FAILED, "%s",
              host->has_virtualization_entitlement ? "com.apple.security.virtualization"
              : no_virtualization_entitlement);
    probe_set(p, "private-entitlement", host->has_private_entitlement ? PROBE_AVAILABLE : PROBE_NEEDS_PRIVATE, "%s",
              host->has_private_entitlement ? "com.apple.private.virtualization" : no_private_entitlement);
    for (size_t i = 0; i < sizeof probe_features / sizeof *probe_features; i++)
        probe_feature(p, &probe_features[i], host);
}

/* ============================= 8. Commands ============================== */

/* Each command parses its own options and returns the process's exit code. */

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;    /* what it does, in a line of `macvm help` */
    const char *synopsis;
    const char *help;       /* what it does, then its options */
};

static const struct command *find_command(const char *name);
static int print_command_help(const struct command *c, FILE *to);

/* Returns the long options that arg ("--d", "--d=1") is a prefix of, as
 * "--debug-stub, --dfu or --dry-run", when it is a prefix of more than one;
 * else NULL. */
static char *ambiguous_option(const char *arg, const struct option *longs)
{
    if (strncmp(arg, "--", 2) != 0)
        return NULL;
    size_t n = strcspn(arg + 2, "="), count = 0, total = 0;
    for (const struct option *o = longs; o->name; o++)
        total += strncmp(o->name, arg + 2, n) == 0;
    if (total < 2)
        return NULL;
    struct buf b = {0};
    for (const struct option *o = longs; o->name; o++)
        if (strncmp(o->name, arg + 2, n) == 0)
            buf_printf(&b, "%s--%s", ++count == 1 ? "" : count == total ? " or " : ", ", o->name);
    return b.data;
}

/* Parses a command's options with getopt_long.  Handles --help and unknown
 * options; a flag whose option names a variable (struct option's flag) is set
 * by getopt_long itself.  Returns the option character, -1 at the end, 'H'
 * after printing the help, or '?' after printing the error (the caller
 * returns EX_USAGE). */
static int next_option(const char *command, int argc, char **argv, const char *shorts,
                       const struct option *longs)
{
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) == 0)
        ;   /* a flag getopt_long has set */
    const char *arg = argv[optind - 1];
    if (c == 'h') {
        print_command_help(find_command(command), stdout);
        return 'H';
    }
    if (c == ':') {   /* the optstring starts with ':', so a missing value is told apart */
        usage_error(command, "option %s needs a value", arg);
        return '?';
    }
    if (c != '?')
        return c;
    const struct option *o = longs;
    while (o->name && (optopt == 0 || o->val != optopt || strncmp(arg, "--", 2) != 0))
        o++;
    autofree char *could = o->name ? NULL : ambiguous_option(arg, longs);
    if (o->name)   /* "--json=1": getopt names a long option by its value */
        usage_error(command, "option --%s takes no value", o->name);
    else if (could)
        usage_error(command, "option %s is ambiguous: it could be %s", arg, could);
    else if (optopt > 0 && optopt < 128 && isprint(optopt))
        usage_error(command, "option -%c is unknown", optopt);
    else if (strcmp(command, "run") == 0 && strcmp(arg, "--no-graphics") == 0)
        usage_error(command, "option --no-graphics is unknown; for a VM without a window: --headless");
    else
        usage_error(command, "option %s is unknown", arg);
    return '?';
}

/* Parses the options of a command whose only option is the flag named flag
 * (--json, --new-identity) into *on, and checks that n operands follow them
 * (n < 0: the command checks), else says give.  Returns -1 to go on, or the
 * command's exit code: 0 after printing its help, EX_USAGE. */
static int parse_flag_option(const char *command, const char *flag, int n, const char *give, int argc, char **argv,
                             bool *on)
{
    const struct option longs[] = {{flag, no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
    *on = false;
    for (int c; (c = next_option(command, argc, argv, ":h", longs)) != -1;) {
        if (c != 'f')
            return c == 'H' ? 0 : EX_USAGE;
        *on = true;
    }
    return n < 0 || argc - optind == n ? -1 : usage_error(command, "%s", give);
}

/* Adds what to do to the error of a restore image that cannot be read
 * (ipsw_inspect's): name another file, or download it again.  Returns its exit code. */
static int ipsw_advice(struct error *e)
{
    return fail_advice(e, e->code == EX_NOINPUT ? "name a restore image (.ipsw) file you can read"
                       : "download the image again ('macvm install --latest' gets Apple's current one)");
}

/* macvm ipsw FILE [--json] */
static int cmd_ipsw(int argc, char **argv)
{
    bool json;
    int rc = parse_flag_option("ipsw", "json", 1, "give one restore image (.ipsw)", argc, argv, &json);
    if (rc >= 0)
        return rc;
    const char *path = argv[optind];
    if (!*path)
        return usage_error("ipsw", "the image's path is empty; name a restore image (.ipsw) file");
    struct ipsw_info info;
    struct error e = {0};
    if (ipsw_inspect(path, &info, &e)) {
        ipsw_free(&info);
        return ipsw_advice(&e), report(path, &e);
    }
    struct host_info host = {0};
    bool on_mac = bridge_host_info(&host) == BRIDGE_OK && host.available;
    struct buf out = {0};
    if (json)
        ipsw_json(&out, path, &info);
    else
        ipsw_text(&out, path, &info, on_mac ? host.os_version : NULL);
    ipsw_free(&info);
    rc = print_buf(&out);
    buf_free(&out);
    return rc;
}

/* A progress bar on a terminal; otherwise a plain line each 10 percent. */
struct progress {
    const char *label;
    bool bytes;                 /* done/total are bytes (a download), else units of work */
    bool tty;
    double start, last_draw;
    int last_decile;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_init(struct progress *p, const char *label, bool bytes)
{
    *p = (struct progress){.label = label, .bytes = bytes, .tty = isatty(STDOUT_FILENO),
                           .start = now_seconds(), .last_decile = -1};
}

/* Formats seconds as "1h02m", "2m05s" or "42s". */
static const char *human_duration(char *out, size_t size, double s)
{
    long t = s > 0 && s < 1e7 ? (long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(out, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, size, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(out, size, "%lds", t);
    return out;
}

/* Renders one progress line for done of total at time now (tests call it
 * directly).  Returns the line in out. */
static const char *progress_line(char *out, size_t size, const struct progress *p, uint64_t done, uint64_t total,
                                 double now)
{
    static const char filled[] = "##############################", empty[] = "..............................";
    double fraction = total ? (double)done / (double)total : 0, elapsed = now - p->start;
    int bar = fraction < 1 ? (int)(fraction * 30) : 30;
    char a[32], b[32], rate[32], eta[32] = "";
    if (fraction > 0.001 && fraction < 1 && elapsed > 1) {
        char d[24];
        snprintf(eta, sizeof eta, "  ETA %s", human_duration(d, sizeof d, elapsed / fraction - elapsed));
    }
    if (p->bytes) {
        snprintf(rate, sizeof rate, "%s/s", human_size(b, sizeof b, elapsed > 0 ? (uint64_t)((double)done / elapsed) : 0));
        snprintf(out, size, "%s [%.*s%.*s] %3.0f%%  %s of %s  %s%s", p->label, bar, filled, 30 - bar, empty,
                 fraction * 100, human_size(a, sizeof a, done), total ? human_size(b, sizeof b, total) : "?", rate,
                 eta);
    } else {
        snprintf(out, size, "%s [%.*s%.*s] %3.0f%%%s", p->label, bar, filled, 30 - bar, empty, fraction * 100, eta);
    }
    return out;
}

/* The bridge's progress callback: redraws at most 10 times a second. */
static void progress_update(void *ctx, uint64_t done, uint64_t total)
{
    struct progress *p = ctx;
    double now = now_seconds();
    char line[256];
    int decile = total ? (int)(done * 10 / total) : 0;
    if (p->tty) {
        if (now - p->last_draw < 0.1 && done < total)
            return;
        p->last_draw = now;
        printf("\r%s\033[K", progress_line(line, sizeof line, p, done, total, now));
    } else if (decile != p->last_decile) {
        p->last_decile = decile;
        printf("%s\n", progress_line(line, sizeof line, p, done, total, now));
    }
    fflush(stdout);
}

static void progress_end(struct progress *p)
{
    if (p->tty)
        putchar('\n');
    fflush(stdout);
}

/* Writes a bridge failure as one line's text: what Virtualization said, the
 * cause a log named (NULL: none) and the advice (NULL: none).  Returns the
 * exit code. */
static int failure_text(struct buf *b, int status, const struct bridge_error *err, const struct bridge_error *cause,
                        const char *advice)
{
    if (status == BRIDGE_INTERRUPTED) {
        buf_puts(b, "interrupted");
        return EXIT_INTERRUPTED;
    }
    if (status == BRIDGE_UNAVAILABLE) {
        buf_puts(b, err->message[0] ? err->message : "not available on this host");
        return EX_UNAVAILABLE;
    }
    buf_printf(b, "%s (%s code %ld)", err->message, err->domain, err->code);
    if (cause && cause->domain[0])
        buf_printf(b, "; the installer's log names %s code %ld", cause->domain, cause->code);
    if (advice)
        buf_printf(b, "; %s", advice);
    return EXIT_VZ_FAILED;
}

/* Puts a bridge failure, with macvm's advice, in e.  Returns the exit code. */
static int bridge_failure(struct error *e, int status, const struct bridge_error *err)
{
    struct buf b = {0};
    int code = failure_text(&b, status, err, NULL, advise(err->domain, err->code, err->message));
    fail(e, code, "%.1000s", b.data);
    buf_free(&b);
    return code;
}

/* Reports a bridge failure: the error, the cause a log named (NULL: none)
 * and the advice.  Returns the exit code.  Unlike bridge_failure, it does not
 * cut a long message to fit a struct error. */
static int report_failure(const char *subject, int status, const struct bridge_error *err,
                          const struct bridge_error *cause, const char *advice)
{
    struct buf b = {0};
    int code = failure_text(&b, status, err, cause, advice);
    say("", subject, b.data);
    buf_free(&b);
    return code;
}

/* Reports a bridge failure with macvm's advice.  Returns the exit code. */
static int report_bridge_error(const char *subject, int status, const struct bridge_error *err)
{
    return report_failure(subject, status, err, NULL, advise(err->domain, err->code, err->message));
}

/* Returns what to do about a failed install: the installer's own error says
 * more than Virtualization's "Installation failed" where macvm knows it. */
static const char *install_advice(const struct bridge_error *vz, const struct bridge_error *installer)
{
    const char *a = installer->domain[0] ? advise(installer->domain, installer->code, installer->message) : NULL;
    return a ? a : advise(vz->domain, vz->code, vz->message);
}

/* The one line a user sees when a VM command runs where Virtualization cannot. */
static int unavailable_here(const char *command)
{
    struct utsname u;
    uname(&u);
    fprintf(stderr, "macvm: %s: running VMs needs macOS 12 or later on Apple Silicon; this host is %s %s "
            "(inspection, reports and --dry-run work here)\n", command, u.sysname, u.machine);
    return EX_UNAVAILABLE;
}

/* Appends the commands that remove a bundle whose install did not finish and
 * install it again as it was asked for: image (ipsw, or PATH/ and the file name
 * Config.plist recorded), disk size, CPUs and memory. */
static void retry_install_command(struct buf *b, const char *bundle, const char *ipsw, uint64_t disk_size,
                                  const struct vm_config *c)
{
    autofree char *image = ipsw ? xstrdup(ipsw)
                                : path_join("PATH", c->installed_from[0] ? c->installed_from : "TO/IMAGE.ipsw");
    bool whole_gib = disk_size % (1ull << 30) == 0;
    buf_puts(b, "rm -r ");
    shell_quote(b, bundle);
    buf_puts(b, " && macvm install --ipsw ");
    shell_quote(b, image);
    if (disk_size)
        buf_printf(b, " --disk-size %" PRIu64 "%s", whole_gib ? disk_size >> 30 : disk_size >> 20,
                   whole_gib ? "G" : "M");
    if (c->set & CONFIG_CPU)
        buf_printf(b, " --cpus %u", c->cpu_count);
    if (c->set & CONFIG_MEMORY)
        buf_printf(b, " --memory %" PRIu64 "M", c->memory_bytes >> 20);
    buf_add(b, " ", 1);
    shell_quote(b, bundle);
}

/* --- macvm info --- */

/* Everything info shows is gathered once, into struct bundle_info, and then
 * rendered as text or as JSON: the two can never disagree. */

/* A problem info found: the file and what is wrong with it. */
struct info_problem {
    char file[64];
    char text[1024];
};

/* A recorded run, as info lists it. */
struct info_run {
    char *folder;
    const char *name;       /* the folder's last component */
    char outcome[32];       /* "guest-stopped", "error", ... or "unrecorded" */
    bool ephemeral;         /* a disposable run's, in NAME.ephemeral-logs/ */
};

struct bundle_info {
    struct vm_config config;
    bool config_damaged;
    struct hardware_model hw;
    bool has_hw, has_ecid, has_disk, has_aux, saved_state;
    int installer_pid;      /* the macvm installing into it now, or 0 */
    uint64_t ecid, disk_logical, disk_allocated, aux_bytes;
    char serial_number[64]; /* "" when MachineIdentifier carries none */
    unsigned cpu_count;     /* what a run gets without --cpus, */
    uint64_t memory_bytes;  /* and without --memory, */
    const char *cpu_origin, *memory_origin;   /* and where each comes from (value_origin) */
    struct info_problem problems[8];
    size_t n_problems;
    struct info_run *runs;  /* oldest first */
    size_t n_runs;
    char **leftovers;       /* disposable clones a killed run left beside the bundle */
    size_t n_leftovers;
    char **twins;           /* bundles beside it with the same ECID */
    size_t n_twins;
};

static void info_problem(struct bundle_info *bi, const char *file, const struct error *e)
{
    /* These files were made together and belong together: one cannot be remade alone. */
    static const char *const restore = "; restore the bundle from a clone or backup, or install a new one";
    const char *text = e->text;
    if (strncmp(text, file, strlen(file)) == 0 && strncmp(text + strlen(file), ": ", 2) == 0)
        text += strlen(file) + 2;   /* the file is named already */
    if (bi->n_problems < sizeof bi->problems / sizeof *bi->problems) {
        snprintf(bi->problems[bi->n_problems].file, sizeof bi->problems[0].file, "%s", file);
        snprintf(bi->problems[bi->n_problems].text, sizeof bi->problems[0].text, "%.900s%s", text,
                 strcmp(file, BUNDLE_CONFIG) == 0 || strcmp(file, BUNDLE_SAVE_FILE) == 0 ? "" : restore);
        bi->n_problems++;
    }
}

/* Stats the bundle's file into *st.  Returns whether it is a regular file;
 * else notes it missing or damaged, followed by why (what it is for). */
static bool info_regular_file(struct bundle_info *bi, const char *bundle, const char *file, const char *why,
                              struct stat *st)
{
    autofree char *path = path_join(bundle, file);
    struct error e = {0};
    if (stat(path, st) != 0)
        fail(&e, EX_DATAERR, "missing: %s%s", strerror(errno), why);
    else if (S_ISREG(st->st_mode))
        return true;
    else
        fail(&e, EX_DATAERR, "damaged: %s, not a regular file%s", file_kind(st->st_mode), why);
    info_problem(bi, file, &e);
    return false;
}

/* Whether the entry at path is a bundle whose MachineIdentifier has the ECID *ecid. */
static bool has_ecid(const char *path, const char *entry, const void *ecid)
{
    autofree char *mi = path_join(path, BUNDLE_MACHINE_IDENTIFIER);
    uint64_t other;
    struct error ignored = {0};
    return entry[0] != '.' && machine_identifier_read(mi, &other, &ignored) == 0 && other == *(const uint64_t *)ecid;
}

/* Lists the bundles beside bundle (in its folder) whose MachineIdentifier has
 * the same ECID: clones of it, which cannot run beside it.  Returns their
 * count; *dirs holds their paths (free with free_names). */
static size_t same_identity(const char *bundle, uint64_t ecid, char ***dirs)
{
    return bundle_neighbours(bundle, has_ecid, &ecid, dirs);
}

/* Lists the bundle's recorded runs with their outcomes, oldest first. */
static size_t info_runs(const char *bundle, struct info_run **runs)
{
    char **dirs;
    size_t n = bundle_runs(bundle, &dirs), k = strlen(EPHEMERAL_LOGS_SUFFIX "/");
    *runs = xcalloc(n, sizeof **runs);
    for (size_t i = 0; i < n; i++) {
        struct info_run *r = &(*runs)[i];
        struct arena a = {0};
        const char *outcome = run_string(run_record_read(dirs[i], &a), "outcome", "result");
        snprintf(r->outcome, sizeof r->outcome, "%s", outcome ? outcome : "unrecorded");
        arena_free(&a);
        r->folder = dirs[i];
        r->name = strrchr(r->folder, '/') + 1;   /* bundle_runs gives PARENT/NAME */
        r->ephemeral = (size_t)(r->name - r->folder) > k && strncmp(r->name - k, EPHEMERAL_LOGS_SUFFIX "/", k) == 0;
    }
    free(dirs);   /* the names now belong to runs */
    return n;
}

/* Reads everything info shows, noting each missing or damaged file. */
static void bundle_inspect(const char *bundle, const struct host_info *host, struct bundle_info *bi)
{
    struct stat st;
    struct error e = {0};
    struct vm_config *c = &bi->config;
    *bi = (struct bundle_info){0};
    if (config_load(bundle, c, &e) != 0) {
        info_problem(bi, BUNDLE_CONFIG, &e);
        *c = config_defaults();
        bi->config_damaged = true;
    }
    bi->installer_pid = c->install_completed ? 0 : installer_pid(bundle);
    autofree char *hw = path_join(bundle, BUNDLE_HARDWARE_MODEL);
    if (!(bi->has_hw = hardware_model_read(hw, &bi->hw, &e) == 0))
        info_problem(bi, BUNDLE_HARDWARE_MODEL, &e);
    autofree char *mi = path_join(bundle, BUNDLE_MACHINE_IDENTIFIER);
    if ((bi->has_ecid = machine_identifier_read(mi, &bi->ecid, &e) == 0)) {
        machine_identifier_serial(mi, bi->serial_number, sizeof bi->serial_number);
        bi->n_twins = same_identity(bundle, bi->ecid, &bi->twins);
    } else {
        info_problem(bi, BUNDLE_MACHINE_IDENTIFIER, &e);
    }
    if ((bi->has_disk = info_regular_file(bi, bundle, BUNDLE_DISK, "", &st))) {
        bi->disk_logical = (uint64_t)st.st_size;
        bi->disk_allocated = allocated_bytes(&st);
    }
    if ((bi->has_aux = info_regular_file(bi, bundle, BUNDLE_AUX, " (the VM cannot boot without its NVRAM)", &st)))
        bi->aux_bytes = (uint64_t)st.st_size;
    bi->cpu_count = c->set & CONFIG_CPU ? c->cpu_count : default_cpu_count(c, host);
    bi->cpu_origin = value_origin(false, c->set & CONFIG_CPU, default_cpu_count(c, host) > compute_cpu_count(host),
                                  true);
    bi->memory_bytes = c->set & CONFIG_MEMORY ? c->memory_bytes : default_memory_size(c, host);
    bi->memory_origin = value_origin(false, c->set & CONFIG_MEMORY,
                                     default_memory_size(c, host) > compute_memory_size(host), false);
    autofree char *save = path_join(bundle, BUNDLE_SAVE_FILE);
    bool save_found = stat(save, &st) == 0;
    if (save_found && !S_ISREG(st.st_mode)) {   /* run refuses it: not "the next run resumes it" */
        fail(&e, EX_DATAERR, "damaged: %s, not a regular file; move it out of the bundle (the saved state is lost)",
             file_kind(st.st_mode));
        info_problem(bi, BUNDLE_SAVE_FILE, &e);
    }
    bi->saved_state = save_found && S_ISREG(st.st_mode);
    bi->n_runs = info_runs(bundle, &bi->runs);
    bi->n_leftovers = leftover_clones(bundle, &bi->leftovers);
}

static void bundle_info_free(struct bundle_info *bi)
{
    for (size_t i = 0; i < bi->n_runs; i++)
        free(bi->runs[i].folder);
    free(bi->runs);
    free_names(bi->leftovers, bi->n_leftovers);
    free_names(bi->twins, bi->n_twins);
}

static void info_json(struct buf *b, const char *bundle, const struct bundle_info *bi)
{
    static const struct {
        enum config_field field;
        const char *key;
    } defaults[] = {{CONFIG_CPU, "cpu_count"}, {CONFIG_MEMORY, "memory_bytes"}, {CONFIG_DISPLAY, "display"},
                    {CONFIG_MAC, "mac_address"}};
    struct json j = {.out = b};
    const struct vm_config *c = &bi->config;
    json_open(&j, NULL, '{');
    json_str(&j, "bundle", bundle);
    if (bi->has_hw)
        hardware_model_json(&j, "hardware_model", &bi->hw);
    else
        json_null(&j, "hardware_model");
    if (bi->has_ecid) {
        json_open(&j, "machine_identifier", '{');
        json_str(&j, "ecid", ecid_text(bi->ecid).s);
        json_str(&j, "serial_number", bi->serial_number[0] ? bi->serial_number : NULL);
        json_open(&j, "same_ecid", '[');
        for (size_t i = 0; i < bi->n_twins; i++)
            json_str(&j, NULL, bi->twins[i]);
        json_close(&j, ']');
        json_close(&j, '}');
    } else {
        json_null(&j, "machine_identifier");
    }
    if (bi->has_disk) {
        json_open(&j, "disk", '{');
        json_uint(&j, "logical_bytes", bi->disk_logical);
        json_uint(&j, "allocated_bytes", bi->disk_allocated);
        json_close(&j, '}');
    } else {
        json_null(&j, "disk");
    }
    if (bi->has_aux)
        json_uint(&j, "auxiliary_storage_bytes", bi->aux_bytes);
    else
        json_null(&j, "auxiliary_storage_bytes");
    json_open(&j, "config", '{');
    json_uint(&j, "cpu_count", bi->cpu_count);
    json_uint(&j, "memory_bytes", bi->memory_bytes);
    json_open(&j, "display", '{');
    json_uint(&j, "width", c->display_width);
    json_uint(&j, "height", c->display_height);
    json_uint(&j, "pixels_per_inch", c->display_ppi);
    json_close(&j, '}');
    json_str(&j, "mac_address", c->mac_address[0] ? c->mac_address : NULL);
    json_open(&j, "defaults", '[');
    for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++)
        if (!(c->set & defaults[i].field))
            json_str(&j, NULL, defaults[i].key);
    json_close(&j, ']');
    json_close(&j, '}');
    json_open(&j, "installed", '{');
    json_str(&j, "from", c->installed_from[0] ? c->installed_from : NULL);
    json_str(&j, "product_version", c->installed_version[0] ? c->installed_version : NULL);
    json_str(&j, "build", c->installed_build[0] ? c->installed_build : NULL);
    json_bool(&j, "completed", c->install_completed);
    if (bi->installer_pid)
        json_int(&j, "installing_pid", bi->installer_pid);
    else
        json_null(&j, "installing_pid");
    json_close(&j, '}');
    json_bool(&j, "saved_state", bi->saved_state);
    json_open(&j, "runs", '[');
    for (size_t i = 0; i < bi->n_runs; i++) {
        json_open(&j, NULL, '{');
        json_str(&j, "name", bi->runs[i].name);
        json_str(&j, "outcome", bi->runs[i].outcome);
        json_bool(&j, "ephemeral", bi->runs[i].ephemeral);
        json_str(&j, "folder", bi->runs[i].folder);
        json_close(&j, '}');
    }
    json_close(&j, ']');
    json_open(&j, "leftover_clones", '[');
    for (size_t i = 0; i < bi->n_leftovers; i++)
        json_str(&j, NULL, bi->leftovers[i]);
    json_close(&j, ']');
    json_open(&j, "problems", '[');
    for (size_t i = 0; i < bi->n_problems; i++) {
        json_open(&j, NULL, '{');
        json_str(&j, "file", bi->problems[i].file);
        json_str(&j, "problem", bi->problems[i].text);
        json_close(&j, '}');
    }
    json_close(&j, ']');
    json_close(&j, '}');
}

static void info_text(struct buf *b, const char *bundle, const struct bundle_info *bi)
{
    static const char unreadable[] = "missing or damaged (see below)\n";
    const struct vm_config *c = &bi->config;
    char a[32], d[32];
    buf_puts(b, "Bundle:             ");
    buf_text(b, bundle);
    buf_puts(b, "\n");
    if (c->installed_version[0]) {
        buf_puts(b, "Installed:          macOS ");
        buf_text(b, c->installed_version);
        buf_puts(b, " (");
        buf_text(b, c->installed_build);
        buf_puts(b, ") from ");
        buf_text(b, c->installed_from);
        buf_puts(b, "\n");
    } else if (bi->config_damaged) {
        buf_puts(b, "Installed:          unknown (Config.plist is damaged, see below; the values shown are defaults)\n");
    } else {
        struct stat st;
        buf_puts(b, bundle_stat(bundle, BUNDLE_CONFIG, &st)
                        ? "Installed:          not recorded (Config.plist does not say: made outside macvm)\n"
                        : "Installed:          not recorded (no Config.plist: a bundle made outside macvm)\n");
    }
    if (bi->installer_pid) {
        buf_printf(b, "                    being installed now by macvm (PID %d): wait until it is done\n",
                   bi->installer_pid);
    } else if (!c->install_completed) {
        buf_puts(b, "                    INCOMPLETE: the install did not finish, so it cannot boot; to retry: ");
        retry_install_command(b, bundle, NULL, bi->disk_logical, c);
        buf_puts(b, "\n");
    }
    if (bi->has_hw) {
        buf_puts(b, "Hardware model:     ");
        hardware_model_text(b, &bi->hw);
        buf_puts(b, "\n");
    } else {
        buf_printf(b, "Hardware model:     %s", unreadable);
    }
    if (bi->has_ecid)
        buf_printf(b, "Machine identifier: ECID %s%s%s\n", ecid_text(bi->ecid).s,
                   bi->serial_number[0] ? ", serial number " : "", bi->serial_number);
    else
        buf_printf(b, "Machine identifier: %s", unreadable);
    for (size_t i = 0; i < bi->n_twins; i++) {
        buf_puts(b, "                    the same ECID as ");
        buf_text(b, bi->twins[i]);
        buf_puts(b, " (a clone): run one at a time, or make clones with 'macvm clone --new-identity'\n");
    }
    if (bi->has_disk)
        buf_printf(b, "Disk.img:           %s, %s used on disk\n", human_size(a, sizeof a, bi->disk_logical),
                   human_size(d, sizeof d, bi->disk_allocated));
    else
        buf_printf(b, "Disk.img:           %s", unreadable);
    if (bi->has_aux)
        buf_printf(b, "AuxiliaryStorage:   %s\n", human_size(a, sizeof a, bi->aux_bytes));
    else
        buf_printf(b, "AuxiliaryStorage:   %s", unreadable);
    buf_printf(b, "CPUs:               %u%s\n", bi->cpu_count, bi->cpu_origin);
    buf_printf(b, "Memory:             %s%s\n", human_size(a, sizeof a, bi->memory_bytes), bi->memory_origin);
    buf_printf(b, "Display:            %ux%u at %u ppi%s\n", c->display_width, c->display_height, c->display_ppi,
               c->set & CONFIG_DISPLAY ? "" : " (default)");
    buf_printf(b, "Network:            NAT, MAC %s\n", c->mac_address[0] ? c->mac_address : "chosen by Virtualization (default)");
    buf_printf(b, "Saved state:        %s\n", bi->saved_state ? "yes (SaveFile.vzvmsave; the next run resumes it)" : "none");
    buf_printf(b, "Runs:               %zu recorded (logs/, and NAME.ephemeral-logs/ for disposable runs)\n",
               bi->n_runs);
    for (const struct info_run *r = bi->runs + (bi->n_runs > 5 ? bi->n_runs - 5 : 0); r < bi->runs + bi->n_runs; r++)
        buf_printf(b, "  %s  %s%s\n", r->name, r->outcome, r->ephemeral ? " (disposable)" : "");
    for (size_t i = 0; i < bi->n_leftovers; i++) {
        buf_puts(b, "Leftover copy:      ");
        buf_text(b, bi->leftovers[i]);
        buf_printf(b, " (%s was killed; remove it: rm -r ", leftover_of_clone(bi->leftovers[i]) ? "a clone"
                                                                                                : "a disposable run");
        shell_quote(b, bi->leftovers[i]);
        buf_puts(b, ")\n");
    }
}

/* macvm info [BUNDLE] [--json] */
static int cmd_info(int argc, char **argv)
{
    bool json;
    int rc = parse_flag_option("info", "json", -1, NULL, argc, argv, &json);
    if (rc >= 0)
        return rc;
    autofree char *bundle = bundle_operand("info", argc, argv);
    if (!bundle)
        return EX_USAGE;
    struct error e = {0};
    if (bundle_found(bundle, &e)) {
        char **left;
        size_t n = leftover_clones(bundle, &left);
        struct buf b = {0};
        buf_puts(&b, e.text);   /* e.text cannot be formatted into itself */
        for (size_t i = 0; i < n; i++) {   /* a clone to this path that was killed left this */
            buf_printf(&b, "; %s was killed and left %s: remove it with rm -r ",
                       leftover_of_clone(left[i]) ? "a clone to this path" : "a disposable run", left[i]);
            shell_quote(&b, left[i]);
        }
        fail(&e, e.code, "%.1000s", b.data);
        buf_free(&b);
        free_names(left, n);
        return report(bundle, &e);
    }
    struct host_info host;
    bridge_host_info(&host);
    struct bundle_info bi;
    bundle_inspect(bundle, &host, &bi);
    struct buf out = {0};
    if (json)
        info_json(&out, bundle, &bi);
    else
        info_text(&out, bundle, &bi);
    rc = print_buf(&out);
    buf_free(&out);
    for (size_t i = 0; i < bi.n_problems; i++)
        tell(stderr, "macvm: %s/%s: %s", bundle, bi.problems[i].file, bi.problems[i].text);
    bundle_info_free(&bi);
    return bi.n_problems ? EX_DATAERR : rc;
}

/* --- macvm clone --- */

/* Checks that a clone of src can get a new identity here, before anything is
 * copied.  Returns 0 or an exit code with *e. */
static int new_identity_preflight(const char *src, struct error *e)
{
    struct host_info host;
    if (bridge_host_info(&host) != BRIDGE_OK || !host.available)
        return fail(e, EX_UNAVAILABLE, "--new-identity asks Virtualization for a clone's identity: macOS 13 or "
                    "later on Apple Silicon (clone without it here, and give it one on the Mac)");
    if (version_compare(host.os_version, "13") < 0)
        return fail(e, EX_UNAVAILABLE, "--new-identity needs macOS 13 or later on the host (this Mac runs %s)",
                    host.os_version);
    autofree char *save = path_join(src, BUNDLE_SAVE_FILE);
    if (access(save, F_OK) == 0)
        return fail(e, EX_USAGE, "%s has a saved state (SaveFile.vzvmsave), which fits only its own identity: run "
                    "it once to resume and shut down the guest, then clone", src);
    struct vm_config c;   /* the clone's gets a new MACAddress: it must be readable */
    return config_load(src, &c, e) ? fail_prefix(e, src) : 0;
}

/* Returns a random locally administered unicast MAC address, so the VM keeps
 * one address across runs (a saved state only restores with the same one). */
static void random_mac(char *out, size_t size)
{
    unsigned char b[6];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof b) != (ssize_t)sizeof b) {
        srand((unsigned)time(NULL) ^ (unsigned)getpid());
        for (int i = 0; i < 6; i++)
            b[i] = (unsigned char)rand();
    }
    if (fd >= 0)
        close(fd);
    b[0] = (unsigned char)((b[0] & 0xFC) | 0x02);
    snprintf(out, size, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

/* Gives the clone at dst, still in its temporary folder, its own identity
 * (bridge_clone_identity; *ecid is the new ECID) and its own MAC address, so
 * that it can run beside its original on the same network.  Returns 0 or an
 * exit code. */
static int give_new_identity(const char *dst, uint64_t *ecid, struct error *e)
{
    autofree char *mi = path_join(dst, BUNDLE_MACHINE_IDENTIFIER);
    struct bridge_error err = {0};
    int status = bridge_clone_identity(mi, &err);
    if (status != BRIDGE_OK)
        return bridge_failure(e, status, &err);
    struct vm_config c;
    if (machine_identifier_read(mi, ecid, e) || config_load(dst, &c, e))
        return e->code;
    random_mac(c.mac_address, sizeof c.mac_address);
    c.set |= CONFIG_MAC;
    return config_save(dst, &c, e);
}

/* macvm clone [--new-identity] SRC DST */
static int cmd_clone(int argc, char **argv)
{
    bool new_identity;
    int rc = parse_flag_option("clone", "new-identity", 2, "give a source bundle and a new destination", argc, argv,
                               &new_identity);
    if (rc >= 0)
        return rc;
    const char *src = argv[optind], *dst = argv[optind + 1];
    if (!*src || !*dst)
        return usage_error("clone", "the %s path is empty; name a bundle", *src ? "destination's" : "source's");
    enum clone_method how = CLONE_NONE;
    struct error e = {0};
    uint64_t ecid = 0;
    autofree char *dst_path = bundle_path(dst);
    if (bundle_fits(dst_path, &e))   /* a clone no command could run */
        return fail_prefix(&e, "the destination"), report("clone", &e);
    if ((new_identity && new_identity_preflight(src, &e)) ||
        bundle_clone(src, dst, false, new_identity ? &ecid : NULL, &how, NULL, &e))
        return report("clone", &e);   /* the message names the path at fault */
    struct buf b = {0};
    buf_text(&b, src);
    buf_puts(&b, " -> ");
    buf_text(&b, dst);
    buf_puts(&b, how == CLONE_COW ? ": copy-on-write clone (takes no space until either changes)"
                                  : ": sparse copy (this filesystem cannot clone; holes kept)");
    if (!new_identity)
        buf_puts(&b, "; it has its original's identity (ECID, serial number): run one of them at a time, or clone "
                     "with --new-identity (experimental) to run both");
    else
        buf_printf(&b, "; it has its own identity (ECID %s) and runs beside its original; a macOS 15 or later guest "
                   "sees a new Mac: sign in to iCloud again in it", ecid_text(ecid).s);
    rc = print_buf(&b);
    buf_free(&b);
    warn_leftovers(dst_path);
    return rc;
}

/* --- macvm run --- */

/* When the bridge last said the VM runs (now_seconds), for run.json; 0: not yet. */
static double vm_started_at;

/* Called by the bridge once the VM runs: tells the user how to attach a
 * debugger to the stub (or that its port is unknown, and the fix), and what a
 * DFU VM looks like. */
void macvm_vm_started(const struct vm_spec *spec, unsigned reported_port)
{
    const char *source;
    unsigned port = debug_stub_port(spec, reported_port, &source);
    vm_started_at = now_seconds();
    if (spec->debug_stub && port)
        printf("macvm: GDB stub listening on %s:%u%s; attach with: lldb -o \"gdb-remote 127.0.0.1:%u\"\n",
               spec->debug_stub_all_interfaces ? "all interfaces" : "127.0.0.1", port,
               reported_port ? "" : " (the port asked for: this macOS does not report the stub's)", port);
    else if (spec->debug_stub)
        printf("macvm: GDB stub attached, port unknown: this macOS does not report the port the system chose; "
               "run with --debug-stub PORT to choose one\n");
    if (spec->start_mode == START_DFU)
        printf("macvm: DFU: the screen stays black; the VM waits as a USB DFU device with ECID %s\n",
               ecid_text(spec->ecid).s);
    fflush(stdout);
}

/* What ends a run (bridge.h): the bridge asks at each Quit, Ctrl-C or menu
 * item.  Quit and the window's close button save where the spec says the run
 * can, else ask the guest to shut down: never a silent hard stop (in DFU or
 * stopped in iBoot no macOS runs to ask, so Quit stops the VM, and the run
 * ends saying so).  The first Ctrl-C saves with --save-on-stop, else asks the
 * guest; the second forces.  Force Stop forces.  A run whose save failed does
 * not try again. */
enum stop_action macvm_stop_action(const struct vm_spec *spec, const struct run_outcome *outcome,
                                   enum stop_event event, bool stopping)
{
    bool can_save = !outcome->save_failure[0];
    switch (event) {
    case STOP_EVENT_FORCE_ITEM:
        return STOP_ACTION_FORCE;
    case STOP_EVENT_STOP_ITEM:
        return STOP_ACTION_REQUEST;
    case STOP_EVENT_INTERRUPT:
        if (stopping)
            return STOP_ACTION_FORCE;
        return spec->save_on_stop && can_save ? STOP_ACTION_SAVE : STOP_ACTION_REQUEST;
    case STOP_EVENT_QUIT:
        if (stopping)
            return STOP_ACTION_NONE;   /* on its way; Force Stop stays in the menu */
        if (spec->start_mode == START_DFU || spec->start_mode == START_IBOOT_STAGE1 ||
            spec->start_mode == START_IBOOT_STAGE2)
            return STOP_ACTION_FORCE;  /* no macOS runs to ask; the run ends saying "stopped by force" */
        return (spec->save_on_quit || spec->save_on_stop) && can_save ? STOP_ACTION_SAVE : STOP_ACTION_REQUEST;
    }
    return STOP_ACTION_REQUEST;
}

/* A save that the spec allowed but Virtualization refused or that failed
 * (bridge.h): said at once, kept for run.json, and the guest asked to shut
 * down; only a guest that cannot be asked any more (paused, its resume
 * failed) is stopped. */
enum stop_action macvm_save_failed(struct run_outcome *outcome, const char *step, const char *why,
                                   bool guest_running)
{
    if (!outcome->save_failure[0])
        snprintf(outcome->save_failure, sizeof outcome->save_failure, "%s: %s", step, why);
    if (strcmp(step, "validation") == 0)
        tell(stderr, "macvm: Virtualization says this configuration cannot be saved (%s), so Quit asks the guest "
             "to shut down; 'macvm doctor --probe BUNDLE' shows it", why);
    else
        tell(stderr, "macvm: the state was not saved (%s failed: %s); %s", step, why,
             guest_running ? "the guest is asked to shut down instead" : "the VM, paused, is stopped");
    return guest_running ? STOP_ACTION_REQUEST : STOP_ACTION_FORCE;
}

/* Restoring save_file failed, and the bridge has removed it (bridge.h): said
 * at once, kept for run.json.  The VM starts fresh, as after a crash: the
 * state is gone either way, and a fresh start is what the user would do next. */
bool macvm_restore_failed(struct run_outcome *outcome, const char *why)
{
    snprintf(outcome->restore_failure, sizeof outcome->restore_failure, "%s", why);
    warn("the saved state was not restored (%s); the VM started fresh", why);
    return true;
}

/* One guest pixel per screen pixel to begin with; the view scales when the
 * window is resized.  A scale the screen does not give counts as 1. */
void macvm_window_size(const struct vm_spec *spec, double scale, double *width, double *height)
{
    if (!(scale > 0))
        scale = 1;
    *width = spec->display_width / scale;
    *height = spec->display_height / scale;
}

/* Parses the value of --cpus: any whole number of 1 or more, so that one
 * too large is refused where the host's range is known, naming it (check_resources,
 * install_preflight).  Returns 0, or EX_USAGE after saying why. */
static int parse_cpus(const char *command, const char *arg, unsigned *out)
{
    unsigned long long n;
    if (!parse_uint(arg, 1, UINT_MAX, &n))
        return usage_error(command, "--cpus '%s' is not a whole number of CPUs (1 or more)", arg);
    *out = (unsigned)n;
    return 0;
}

/* Parses run's options into *o.  Returns 0, -1 after printing its help, or
 * EX_USAGE after saying why. */
static int parse_run_options(int argc, char **argv, struct run_options *o)
{
    enum { O_DRY = 256, O_RECOVERY, O_DFU, O_IBOOT1, O_IBOOT2, O_STUB, O_STUB_ALL, O_BOOT_ARGS, O_HEADLESS,
           O_AUDIO, O_SAVE, O_EPHEMERAL, O_NO_LOG, O_CPUS, O_MEMORY, O_DISK_CACHE, O_DISK_SYNC,
           O_CONSOLE, O_SERIAL, O_PANIC, O_SHARE, O_SCREENSHOT };
    static const struct option longs[] = {
        {"dry-run", no_argument, NULL, O_DRY}, {"json", no_argument, NULL, 'j'},
        {"recovery", no_argument, NULL, O_RECOVERY}, {"dfu", no_argument, NULL, O_DFU},
        {"iboot-stage1", no_argument, NULL, O_IBOOT1}, {"iboot-stage2", no_argument, NULL, O_IBOOT2},
        {"debug-stub", optional_argument, NULL, O_STUB},
        {"debug-stub-all-interfaces", no_argument, NULL, O_STUB_ALL},
        {"boot-args", required_argument, NULL, O_BOOT_ARGS}, {"headless", no_argument, NULL, O_HEADLESS},
        {"audio", no_argument, NULL, O_AUDIO}, {"save-on-stop", no_argument, NULL, O_SAVE},
        {"ephemeral", no_argument, NULL, O_EPHEMERAL}, {"no-log", no_argument, NULL, O_NO_LOG},
        {"cpus", required_argument, NULL, O_CPUS}, {"memory", required_argument, NULL, O_MEMORY},
        {"disk-cache", required_argument, NULL, O_DISK_CACHE}, {"disk-sync", required_argument, NULL, O_DISK_SYNC},
        {"console", no_argument, NULL, O_CONSOLE}, {"serial", no_argument, NULL, O_SERIAL},
        {"panic", required_argument, NULL, O_PANIC}, {"share", required_argument, NULL, O_SHARE},
        {"screenshot", no_argument, NULL, O_SCREENSHOT}, {"help", no_argument, NULL, 'h'}, {0},
    };
    unsigned long long n;
    int mode;
    *o = (struct run_options){0};
    for (int c; (c = next_option("run", argc, argv, ":h", longs)) != -1;) {
        switch (c) {
        case O_DRY: o->dry_run = true; break;
        case 'j': o->json = true; break;
        case O_RECOVERY: o->recovery = true; break;
        case O_DFU: o->dfu = true; break;
        case O_IBOOT1: o->iboot_stage1 = true; break;
        case O_IBOOT2: o->iboot_stage2 = true; break;
        case O_STUB:
            o->debug_stub = true;
            /* "--debug-stub 5555" as well as "--debug-stub=5555": a bare number after it is its port. */
            if (!optarg && optind < argc && argv[optind][0] &&
                strspn(argv[optind], "0123456789") == strlen(argv[optind]))
                optarg = argv[optind++];
            if (optarg && !parse_uint(optarg, 1, 65535, &n))
                return usage_error("run", "--debug-stub port '%s' is not a number from 1 to 65535", optarg);
            o->debug_stub_port = optarg ? (unsigned)n : 0;
            break;
        case O_STUB_ALL: o->debug_stub_all_interfaces = true; break;
        case O_BOOT_ARGS: o->boot_args = optarg; break;
        case O_HEADLESS: o->headless = true; break;
        case O_AUDIO: o->audio = true; break;
        case O_SAVE: o->save_on_stop = true; break;
        case O_EPHEMERAL: o->ephemeral = true; break;
        case O_NO_LOG: o->no_log = true; break;
        case O_CPUS:
            if (parse_cpus("run", optarg, &o->cpu_count))
                return EX_USAGE;
            break;
        case O_MEMORY:
            if (!parse_size(optarg, &o->memory_bytes))
                return usage_error("run", "--memory '%s' is not a size such as 8G or 8192M", optarg);
            break;
        case O_DISK_CACHE:
            if ((mode = name_index(disk_caching_names, optarg)) < 0)
                return usage_error("run", "--disk-cache '%s' is not automatic, cached or uncached", optarg);
            o->disk_caching = (enum disk_caching)mode;
            break;
        case O_DISK_SYNC:
            if ((mode = name_index(disk_sync_names, optarg)) < 0)
                return usage_error("run", "--disk-sync '%s' is not full, fsync or none", optarg);
            o->disk_sync = (enum disk_sync)mode;
            break;
        case O_CONSOLE: o->console = true; break;
        case O_SERIAL: o->serial = true; break;
        case O_SCREENSHOT: o->screenshot = true; break;
        case O_PANIC:
            if (strcmp(optarg, "halt") != 0 && strcmp(optarg, "restart") != 0)
                return usage_error("run", "--panic '%s' is not halt or restart", optarg);
            o->panic = optarg[0] == 'h' ? PANIC_HALT : PANIC_RESTART;
            break;
        case O_SHARE:
            if (o->n_shares == VM_SHARES_MAX)
                return usage_error("run", "more than %d --share: share a folder that holds them", VM_SHARES_MAX);
            o->shares[o->n_shares++] = optarg;
            break;
        case 'H': return -1;
        default: return EX_USAGE;
        }
    }
    return 0;
}

/* Fills the installed macOS's version from the restore image Apple's sample
 * keeps in the bundle (RestoreImage.ipsw) when Config.plist does not say: the
 * devices a run gets depend on it.  An image that cannot be read says nothing. */
static void installed_version_from_image(const char *bundle, struct vm_config *c)
{
    autofree char *path = path_join(bundle, BUNDLE_RESTORE_IMAGE);
    struct ipsw_info img;
    struct error ignored = {0};
    struct stat st;
    if (c->installed_version[0] || stat(path, &st) != 0 || !S_ISREG(st.st_mode))   /* never wait on a FIFO */
        return;
    if (ipsw_inspect(path, &img, &ignored) == 0 && img.product_version)
        snprintf(c->installed_version, sizeof c->installed_version, "%s", img.product_version);
    ipsw_free(&img);
}

/* Loads what a run needs from the bundle.  Returns 0 or an exit code with *e. */
static int load_for_run(const char *bundle, struct vm_config *c, uint64_t *ecid, struct error *e)
{
    int rc = bundle_check(bundle, e);
    if (rc || (rc = config_load(bundle, c, e)))
        return rc;
    int installer = c->install_completed ? 0 : installer_pid(bundle);
    if (installer)
        return busy_fail(e, installer, "installing");
    if (!c->install_completed) {
        autofree char *disk = path_join(bundle, BUNDLE_DISK);
        struct buf b = {0};
        struct stat st;
        retry_install_command(&b, bundle, NULL, stat(disk, &st) == 0 ? (uint64_t)st.st_size : 0, c);
        fail(e, EX_DATAERR, "its install of macOS %s did not complete, so it cannot boot; remove it and install "
             "again: %s", c->installed_version[0] ? c->installed_version : "(unknown)", b.data);
        buf_free(&b);
        return EX_DATAERR;
    }
    static const char *const needed[] = {BUNDLE_AUX, BUNDLE_HARDWARE_MODEL, BUNDLE_MACHINE_IDENTIFIER};
    for (size_t i = 0; i < sizeof needed / sizeof *needed; i++) {
        autofree char *path = path_join(bundle, needed[i]);
        if (access(path, R_OK) != 0)
            return fail(e, EX_NOINPUT, "%s is missing; the VM cannot boot without it ('macvm info' shows the bundle)",
                        needed[i]);
    }
    autofree char *hw_path = path_join(bundle, BUNDLE_HARDWARE_MODEL);
    autofree char *mi_path = path_join(bundle, BUNDLE_MACHINE_IDENTIFIER);
    struct hardware_model hw;
    if (hardware_model_read(hw_path, &hw, e))
        return fail_prefix(e, "HardwareModel");
    if (machine_identifier_read(mi_path, ecid, e))
        return fail_prefix(e, "MachineIdentifier");
    installed_version_from_image(bundle, c);
    return 0;
}

/* Starts the record of a run or an install (r->kind) of bundle: its folder,
 * <start time><suffix> in the bundle's logs/ (a disposable run's beside the
 * bundle, which it never writes: NAME.ephemeral-logs/), and when asked the
 * capture of its log there (`log stream` writes into the file itself, so no
 * pipe can fill and stall it).  Without a folder (r->dir NULL) the work goes
 * on unrecorded, as it says. */
static void record_begin(struct run_record *r, const char *bundle, bool ephemeral, const char *suffix, bool capture,
                         struct log_capture *cap)
{
    struct error e = {0};
    autofree char *ephemeral_logs = ephemeral_logs_dir(bundle);
    autofree char *logs = path_join(bundle, BUNDLE_LOGS);
    const char *dir = ephemeral ? ephemeral_logs : logs, *other = ephemeral ? logs : ephemeral_logs;
    if (!(r->dir = run_dir_create(dir, other, r->started, suffix, &e))) {
        warn("no %s record: %s", r->kind, e.text);
        return;
    }
    runs_prune(dir, r->dir);
    if (!capture)
        return;
    autofree char *log_path = path_join(r->dir, "vz.ndjson");
    if (log_capture_start(cap, log_path, r->dir, &e) != 0)
        warn("the %s goes on without its log: %s", r->kind, e.text);
    else
        r->logged = true;
}

/* Points the console, serial port and screenshot of spec into the run's
 * folder dir, creating the ports' files empty (new names in a new folder:
 * nothing to follow or overwrite).  Without a folder they are left out, as
 * said.  Returns nothing: a missing file costs that output, never the run. */
static void inspection_files(struct vm_spec *spec, const char *dir)
{
    struct {
        bool *on;
        char *path;
        const char *name;
        bool create;
    } files[] = {
        {&spec->console, spec->console_log, "console.log", true},
        {&spec->serial, spec->serial_log, "serial.log", true},
        {&spec->screenshot, spec->screenshot_path, "screen.png", false},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        if (!*files[i].on)
            continue;
        int fd = -1;
        if (!dir || !spec_set_path(files[i].path, dir, files[i].name) ||
            (files[i].create &&
             (fd = open(files[i].path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)) {
            warn("no %s for this run: %s", files[i].name, dir ? strerror(errno) : "it has no run folder");
            *files[i].on = false;
            files[i].path[0] = 0;
        }
        if (fd >= 0)
            close(fd);
    }
}

/* Runs the VM of spec with log capture, records the run, and returns the exit code. */
static int run_vm(struct vm_spec *spec, const struct host_info *host, const struct vm_config *c, int argc,
                  char **argv)
{
    struct run_record r = {.kind = "run", .started = time(NULL), .start_ms = -1};
    struct log_capture cap = {.pid = -1};
    struct error e = {0};
    record_begin(&r, spec->source_bundle, spec->ephemeral, "", spec->capture_log, &cap);
    inspection_files(spec, r.dir);
    if (spec->set_boot_args)
        printf("macvm: NVRAM boot-args %s%s%s\n", spec->boot_args[0] ? "set to \"" : "cleared",
               spec->boot_args, spec->boot_args[0] ? "\"" : "");
    if (interrupted) {
        r.status = BRIDGE_INTERRUPTED;   /* Ctrl-C before the VM started: do not start it */
    } else {
        double asked = now_seconds();
        vm_started_at = 0;
        vm_running = 1;
        r.status = bridge_run(spec, &r.outcome);
        vm_running = 0;
        if (vm_started_at)
            r.start_ms = (long long)((vm_started_at - asked) * 1000);
    }
    r.stopped = time(NULL);
    log_capture_stop(&cap);
    if (r.status == BRIDGE_FAILED || r.status == BRIDGE_UNAVAILABLE)
        r.advice = advise(r.outcome.error.domain, r.outcome.error.code, r.outcome.error.message);
    if (r.status == BRIDGE_FAILED && strcasestr(r.outcome.error.message, "lock auxiliary storage") &&
        (r.held_by = file_holders(spec->auxiliary_storage)))
        warn("AuxiliaryStorage is held by %s", r.held_by);
    if (r.outcome.screenshot_taken)
        tell(stderr, "macvm: the screen as the run ended: %s", spec->screenshot_path);
    else if (r.outcome.screenshot_failure[0])
        warn("no screenshot: %s", r.outcome.screenshot_failure);
    if (r.outcome.network_disconnected[0])
        warn("the VM's network was disconnected during the run (%s); 'macvm feedback' reports it",
             r.outcome.network_disconnected);
    struct probe probe;
    probe_host(&probe, host);
    if (r.dir && run_record_write(&r, spec, host, &probe, c, argc, argv, &e) != 0)
        warn("%s", e.text);
    if (r.dir)
        tell(stderr, "macvm: this run's log: %s", r.dir);
    free(r.dir);
    free(r.held_by);
    if (r.outcome.restore_refused) {
        tell(stderr, "macvm: %s: the saved state is kept and the VM was not started: Virtualization cannot "
             "restore it into this configuration (%s); run it with the configuration that saved it, or remove "
             "SaveFile.vzvmsave to start fresh", spec->source_bundle, r.outcome.error.message);
        return EX_CONFIG;
    }
    if (r.status == BRIDGE_OK && (r.outcome.guest_stopped || r.outcome.saved_state))
        return 0;
    if (r.status == BRIDGE_OK) {
        tell(stderr, "macvm: %s: stopped by force before the guest shut down", spec->source_bundle);
        return EXIT_INTERRUPTED;
    }
    return report_failure(spec->source_bundle, r.status, &r.outcome.error, NULL, r.advice);
}

/* Runs an ephemeral VM: clones the bundle next to itself, runs the clone,
 * and removes it however the run ends.  The source is only read, under the
 * lock the caller holds; the copy's folder is locked from the moment it
 * exists, so info never calls it a leftover.  The run's log goes next to the
 * bundle, in NAME.ephemeral-logs/. */
static int run_ephemeral(struct vm_spec *spec, const struct host_info *host, const struct vm_config *c,
                         int argc, char **argv)
{
    autofree char *tmp = ephemeral_folder(spec->source_bundle);
    struct error e = {0};
    enum clone_method how;
    warn_leftovers(spec->source_bundle);   /* before this run's own copy exists */
    if (!mkdtemp(tmp))
        return fail(&e, EX_CANTCREAT, "cannot create a folder for the disposable copy: %s", strerror(errno)),
               report(spec->source_bundle, &e);
    autofree char *clone = ephemeral_clone_path(tmp, spec->source_bundle);
    int tmp_lock, lock = -1, rc = bundle_lock(tmp, USE_CLONE_DESTINATION, &tmp_lock, &e);
    if (rc == 0)
        rc = bundle_clone(spec->source_bundle, clone, true, NULL, &how, &lock, &e);
    struct error left;
    if (rc) {
        if (remove_tree(tmp, &left))
            warn("%s; remove it with rm -r", left.text);
        bundle_unlock(tmp_lock);
        return report("run", &e);   /* the message names the path at fault */
    }
    spec_set_bundle(spec, clone);
    tell(stdout, "macvm: running a disposable %s of %s; it is removed when the VM stops",
         how == CLONE_COW ? "clone" : "copy", spec->source_bundle);
    fflush(stdout);
    rc = run_vm(spec, host, c, argc, argv);
    if (remove_tree(tmp, &left))
        warn("the disposable copy stays: %s; remove it with rm -r", left.text);
    bundle_unlock(lock);
    bundle_unlock(tmp_lock);
    return rc;
}

/* macvm run [options] [BUNDLE] */
static int cmd_run(int argc, char **argv)
{
    struct run_options o;
    int rc = parse_run_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    autofree char *bundle = bundle_operand("run", argc, argv);
    if (!bundle)
        return EX_USAGE;
    struct vm_config c;
    uint64_t ecid = 0;
    struct error e = {0};
    if ((rc = check_run_options(&o, &e)))
        return report("run", &e);
    if ((rc = load_for_run(bundle, &c, &ecid, &e)))
        return report(bundle, &e);
    struct host_info host;
    bridge_host_info(&host);
    struct vm_spec spec;
    if ((rc = resolve_vm_spec(&o, bundle, &c, ecid, &host, &spec, &e)))
        return report("run", &e);
    if (o.dry_run) {
        struct buf b = {0};
        struct json j = {.out = &b};
        if (o.json)
            spec_json(&j, NULL, &spec);
        else
            spec_text(&b, &spec, &c, &o, &host);
        rc = print_buf(&b);
        buf_free(&b);
        return rc;
    }
    if (!host.available)
        return unavailable_here("run");
    catch_interrupts();
    if (spec.debug_stub_all_interfaces)
        warn("the GDB stub listens on every network interface: anyone who reaches this Mac can control the guest");
    if (spec.disk_sync == DISK_SYNC_NONE)
        warn("--disk-sync none: a crash or power loss of this Mac can corrupt the guest's disk; keep it for "
             "throwaway VMs");
    if (spec.start_mode == START_IBOOT_STAGE1 || spec.start_mode == START_IBOOT_STAGE2)
        printf("macvm: --%s is experimental: on some macOS (13.4, 14) the VM boots normally anyway\n",
               start_mode_name(spec.start_mode));
    if (!spec.save_possible && !spec.headless && !spec.ephemeral && spec.start_mode == START_NORMAL)
        printf("macvm: this run cannot save its state, so Quit asks the guest to shut down: %s\n", spec.save_why_not);
    if (bundle_in_use(bundle)) {
        autofree char *aux = path_join(bundle, BUNDLE_AUX);
        autofree char *holders = file_holders(aux);
        return fail(&e, EX_TEMPFAIL, "its VM runs already (AuxiliaryStorage is locked%s%s): stop it first",
                    holders ? " by " : "", holders ? holders : ""), report(bundle, &e);
    }
    int lock = -1;   /* a disposable run too: its VM has the bundle's ECID and MAC address */
    if ((rc = bundle_lock(bundle, spec.ephemeral ? USE_DISPOSABLE_RUN : USE_RUN, &lock, &e)))
        return report(bundle, &e);
    rc = spec.ephemeral ? run_ephemeral(&spec, &host, &c, argc, argv) : run_vm(&spec, &host, &c, argc, argv);
    bundle_unlock(lock);
    return rc;
}

/* --- macvm install --- */

#define CACHE_DIR "Library/Caches/macvm"

struct install_options {
    const char *ipsw, *serial_number;
    bool latest;
    uint64_t disk_size, memory_bytes;
    unsigned cpu_count;
};

/* An HTTP response other than 2xx brings an error page, not the image. */
bool macvm_download_complete(long status)
{
    return status == 0 || status / 100 == 2;
}

bool macvm_keeps_resume_data(bool complete, bool has_data)
{
    return !complete && has_data;
}

#define SERIAL_NUMBER_LEN 10

/* Returns true when s is a Mac serial number as _VZMacSerialNumber takes it:
 * exactly 10 capital letters and digits ("C02XL0ABHT"). */
static bool valid_serial_number(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    return n == SERIAL_NUMBER_LEN && s[n] == 0;
}

/* Downloads the latest image Virtualization supports into the cache, or
 * reuses a finished download.  Returns 0 with its path in *path (free it),
 * or an exit code after saying why. */
static int fetch_latest(char **path)
{
    char url[2048];
    struct bridge_error err = {0};
    struct error e = {0};
    int status = bridge_latest_image_url(url, sizeof url, &err);
    if (status != BRIDGE_OK)
        return report_bridge_error("install --latest", status, &err);
    autofree char *dir = path_join(home_dir(), CACHE_DIR);
    autofree char *name = path_base(url);
    *path = path_join(dir, name);
    if (strlen(*path) >= VM_PATH_MAX)   /* refused before 13 GB are downloaded, not after */
        return fail(&e, EX_CANTCREAT, "the download cache (%.300s) gives the image a path longer than the %d bytes "
                    "macvm takes; download it elsewhere and give it with --ipsw, or use a shorter HOME", dir,
                    VM_PATH_MAX - 1), report("install --latest", &e);
    if (access(*path, F_OK) == 0) {
        tell(stdout, "macvm: using the finished download %s", *path);
        return 0;
    }
    if (make_directories(dir, &e))
        return fail_prefix(&e, "the download cache"), report("install --latest", &e);
    autofree char *resume = xmalloc(strlen(*path) + sizeof ".resume");
    sprintf(resume, "%s.resume", *path);
    tell(stdout, "macvm: downloading %s", url);
    struct progress p;
    progress_init(&p, "download", true);
    status = bridge_download(url, *path, resume, progress_update, &p, &err);
    progress_end(&p);
    if (status == BRIDGE_INTERRUPTED)
        tell(stderr, "macvm: download interrupted; 'macvm install --latest' resumes it");
    return status == BRIDGE_OK ? 0 : report_bridge_error("download", status, &err);
}

/* Refuses an image that cannot work here, before anything is created.
 * (CPUs and memory are checked with the VM description.)  Returns 0 or an exit code with *e. */
static int install_preflight(const struct ipsw_info *img, const struct host_info *host, struct error *e)
{
    if (!ipsw_vm_capable(img))
        return fail(e, EX_DATAERR, "this image (version %s, build %s) does not install in a VM (%s); use a restore "
                    "image for Apple Silicon Macs (UniversalMac_*_Restore.ipsw), or --latest", img->product_version,
                    img->build, img->lists_virtual_mac ? "no vma2macosap build identity" : "no VirtualMac2,1");
    if (img->min_host_os && version_compare(host->os_version, img->min_host_os) < 0)
        return fail(e, EX_UNAVAILABLE, "macOS %s needs macOS %s or later on the host, and this Mac runs %s: update "
                    "macOS, or install an older image", img->product_version, img->min_host_os, host->os_version);
    return 0;
}

/* Records in Config.plist what the bundle was installed from and with.  What
 * the image needs is what Virtualization said when it loaded the image (ri:
 * the configuration it would run on this Mac); the manifest answers where
 * Virtualization gives 0. */
static struct vm_config install_config(const struct install_options *o, const struct ipsw_info *img,
                                       const struct restore_image_info *ri)
{
    struct vm_config c = config_defaults();
    autofree char *name = path_base(o->ipsw);
    c.set = CONFIG_MAC | CONFIG_INSTALL | CONFIG_DISPLAY;
    random_mac(c.mac_address, sizeof c.mac_address);
    snprintf(c.installed_from, sizeof c.installed_from, "%s", name);
    snprintf(c.installed_version, sizeof c.installed_version, "%s", img->product_version);
    snprintf(c.installed_build, sizeof c.installed_build, "%s", img->build);
    c.install_completed = false;
    if (o->cpu_count) {
        c.cpu_count = o->cpu_count;
        c.set |= CONFIG_CPU;
    }
    if (o->memory_bytes) {
        c.memory_bytes = o->memory_bytes;
        c.set |= CONFIG_MEMORY;
    }
    c.min_cpu_count = ri->min_cpu_count ? ri->min_cpu_count : (unsigned)img->min_cpu_count;
    c.min_memory_bytes = ri->min_memory_bytes ? ri->min_memory_bytes : img->min_memory_mb << 20;
    if (ri->min_cpu_count || img->has_min_cpu)
        c.set |= CONFIG_MIN_CPU;
    if (ri->min_memory_bytes || img->has_min_memory)
        c.set |= CONFIG_MIN_MEMORY;
    return c;
}

/* Removes what bundle_create made, after a later step failed. */
static void bundle_uncreate(const char *bundle)
{
    static const char *const made[] = {BUNDLE_CONFIG, BUNDLE_DISK, BUNDLE_LOCK};
    for (size_t i = 0; i < sizeof made / sizeof *made; i++) {
        autofree char *path = path_join(bundle, made[i]);
        unlink(path);
    }
    rmdir(bundle);
}

/* Creates the bundle and installs macOS into it, recorded in
 * logs/<start time>-install/ as a run is.  Everything that can be refused is
 * refused before the bundle exists.  Returns the exit code. */
static int install_into(const char *bundle, const struct install_options *o, const struct host_info *host, int argc,
                        char **argv)
{
    struct error e = {0};
    struct install_spec spec = {0};
    if (!spec_set_path(spec.restore_image, o->ipsw, NULL))
        return fail(&e, EX_USAGE, "the image's path is longer than the %d bytes macvm takes; move it to a shorter path",
                    VM_PATH_MAX - 1), report("install", &e);
    struct ipsw_info img __attribute__((cleanup(ipsw_free)));   /* freed on every way out, as autofree */
    int rc = ipsw_inspect(o->ipsw, &img, &e);
    if (rc && o->latest)   /* macvm's own download, damaged since: only a new one mends it */
        fail_advice(&e, "remove it, and 'macvm install --latest' downloads the image again");
    else if (rc)
        ipsw_advice(&e);
    if (rc || install_preflight(&img, host, &e))
        return report(o->ipsw, &e);
    /* Virtualization loads the image once (bridge_install installs from what
     * it loaded): it says whether this Mac runs the image, and what its VM needs here. */
    struct restore_image_info ri;
    struct bridge_error err = {0};
    int status = bridge_load_restore_image(o->ipsw, &ri, &err);
    if (status != BRIDGE_OK)
        return report_bridge_error(o->ipsw, status, &err);
    if (!ri.supported_on_host)
        return fail(&e, EX_UNAVAILABLE, "Virtualization on this Mac (macOS %s) supports no hardware model of macOS "
                    "%s: the host is too old for this image; update macOS or install an older image",
                    host->os_version, img.product_version), report(o->ipsw, &e);
    struct vm_config c = install_config(o, &img, &ri);
    snprintf(spec.serial_number, sizeof spec.serial_number, "%s", o->serial_number ? o->serial_number : "");
    struct run_options ro = {.cpu_count = o->cpu_count, .memory_bytes = o->memory_bytes, .headless = true};
    if (resolve_vm_spec(&ro, bundle, &c, 0, host, &spec.vm, &e))
        return report("install", &e);
    if (bundle_create(bundle, o->disk_size, &e))
        return report(bundle, &e);
    int lock = -1;   /* while it installs, a run or clone of the bundle is told to wait, not to remove it */
    if (bundle_lock(bundle, USE_INSTALL, &lock, &e) || config_save(bundle, &c, &e)) {
        bundle_unlock(lock);
        bundle_uncreate(bundle);
        return report(bundle, &e);
    }
    struct run_record r = {.kind = "install", .started = time(NULL), .start_ms = -1};   /* no VM runs */
    struct log_capture cap = {.pid = -1};
    record_begin(&r, bundle, false, INSTALL_SUFFIX, true, &cap);
    tell(stdout, "macvm: installing macOS %s (%s) into %s", c.installed_version, c.installed_build, bundle);
    struct progress p;
    progress_init(&p, "install", false);
    status = r.status = bridge_install(&spec, progress_update, &p, &r.outcome.error);
    progress_end(&p);
    r.stopped = time(NULL);
    log_capture_stop(&cap);
    if (status == BRIDGE_FAILED && r.logged) {
        autofree char *log = path_join(r.dir, "vz.ndjson");
        installer_error_in(log, &r.installer_error);
    }
    if (status == BRIDGE_FAILED || status == BRIDGE_UNAVAILABLE)
        r.advice = install_advice(&r.outcome.error, &r.installer_error);
    if (r.dir) {
        struct probe probe;
        probe_host(&probe, host);
        if (run_record_write(&r, &spec.vm, host, &probe, &c, argc, argv, &e) != 0)
            warn("%s", e.text);
        tell(stderr, "macvm: this install's record: %s", r.dir);
        free(r.dir);
    }
    if (status != BRIDGE_OK) {
        int rc = report_failure(bundle, status, &r.outcome.error, &r.installer_error, r.advice);
        struct buf b = {0};
        retry_install_command(&b, bundle, o->ipsw, o->disk_size, &c);
        tell(stderr, "macvm: %s: the install did not complete; the bundle stays, marked incomplete. Retry with: "
             "%s", bundle, b.data);
        buf_free(&b);
        bundle_unlock(lock);
        return rc;
    }
    c.install_completed = true;
    rc = config_save(bundle, &c, &e);
    bundle_unlock(lock);
    if (rc)
        return report(bundle, &e);
    struct buf run = {0};
    shell_quote(&run, bundle);
    tell(stdout, "macvm: installed; boot it with: macvm run %s", run.data);
    buf_free(&run);
    return 0;
}

/* macvm install [--ipsw FILE | --latest] [--disk-size SIZE] [--cpus N] [--memory SIZE] [--serial-number S] [BUNDLE] */
static int cmd_install(int argc, char **argv)
{
    static const struct option longs[] = {
        {"ipsw", required_argument, NULL, 'i'}, {"latest", no_argument, NULL, 'l'},
        {"disk-size", required_argument, NULL, 'd'}, {"cpus", required_argument, NULL, 'c'},
        {"memory", required_argument, NULL, 'm'}, {"serial-number", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'}, {0},
    };
    struct install_options o = {.disk_size = DEFAULT_DISK_SIZE};
    for (int c; (c = next_option("install", argc, argv, ":h", longs)) != -1;) {
        switch (c) {
        case 'i':
            if (!*(o.ipsw = optarg))
                return usage_error("install", "the --ipsw path is empty; name a restore image (.ipsw) file");
            break;
        case 'l': o.latest = true; break;
        case 'd':
            if (!parse_size(optarg, &o.disk_size) || o.disk_size < (1ull << 30))
                return usage_error("install", "--disk-size '%s' is not a size of at least 1G (e.g. 80G, 1T)", optarg);
            break;
        case 'c':
            if (parse_cpus("install", optarg, &o.cpu_count))
                return EX_USAGE;
            break;
        case 'm':
            if (!parse_size(optarg, &o.memory_bytes))
                return usage_error("install", "--memory '%s' is not a size such as 8G or 8192M", optarg);
            break;
        case 's':
            if (!valid_serial_number(optarg))
                return usage_error("install", "--serial-number '%s' is not a Mac serial number: %d capital letters "
                                   "and digits", optarg, SERIAL_NUMBER_LEN);
            o.serial_number = optarg;
            break;
        default: return c == 'H' ? 0 : EX_USAGE;
        }
    }
    if (o.ipsw && o.latest)
        return usage_error("install", "--ipsw and --latest exclude each other");
    autofree char *bundle = bundle_operand("install", argc, argv);
    if (!bundle)
        return EX_USAGE;
    struct host_info host;
    if (bridge_host_info(&host) != BRIDGE_OK || !host.available)
        return unavailable_here("install");
    struct error e = {0};
    if (o.serial_number && version_compare(host.os_version, "13") < 0)
        return fail(&e, EX_UNAVAILABLE, "--serial-number needs macOS 13 or later on the host (this Mac runs %s)",
                    host.os_version), report("install", &e);
    if (o.serial_number && !host.has_private_entitlement)
        return fail(&e, EX_UNAVAILABLE, "--serial-number (experimental) is a restricted feature: it needs the "
                    "com.apple.private.virtualization entitlement, which this macvm lacks.  " SIGN_PRIVATE_HINT),
               report("install", &e);
    if (bundle_fits(bundle, &e))   /* before a download, not after */
        return report("install", &e);
    if (bundle_can_create(bundle, &e))
        return report(bundle, &e);
    signal(SIGPIPE, SIG_IGN);   /* `| head`: writes fail, the download and install go on (catch_interrupts) */
    autofree char *latest = NULL;
    if (!o.ipsw) {
        int rc = fetch_latest(&latest);
        if (rc)
            return rc;
        o.ipsw = latest;
    }
    return install_into(bundle, &o, &host, argc, argv);
}

/* --- macvm pvg-log --- */

struct pvg_printer {
    bool json;
    struct pvg_watch watch;
    struct buf out;
};

/* Prints each PVG line as it is found (or, with --json, each negotiation). */
static void pvg_print_event(void *ctx, const struct log_event *ev)
{
    struct pvg_printer *p = ctx;
    if (!is_pvg_event(ev))
        return;
    struct pvg_negotiation n;
    bool is_negotiation = pvg_watch_event(&p->watch, ev, &n);
    p->out.len = 0;
    if (p->json && is_negotiation) {
        struct json j = {.out = &p->out};
        json_open(&j, NULL, '{');
        json_str(&j, "timestamp", n.timestamp);
        json_uint(&j, "guest_version", n.guest_version);
        json_uint(&j, "host_version", n.host_version);
        json_str(&j, "message", ev->message);
        json_str(&j, "verdict", pvg_verdict(&n));
        json_close(&j, '}');
        buf_add(&p->out, "\n", 1);
    } else if (!p->json) {
        buf_text(&p->out, ev->timestamp);
        buf_printf(&p->out, "  %-9s ", ev->category);
        buf_text(&p->out, ev->message);
        buf_add(&p->out, "\n", 1);
    }
    if (p->out.len)
        fwrite(p->out.data, 1, p->out.len, stdout);
}

/* Spawns `log show --style ndjson --info --debug --last DURATION` and
 * returns its pid with its stdout in *fd, or -1. */
static pid_t spawn_log_show(const char *duration, int *fd, struct error *e)
{
    char *argv[] = {(char *)log_tool(), "show", "--style", "ndjson", "--info", "--debug", "--last",
                    (char *)duration, "--predicate", LOG_PREDICATE, NULL};
    return spawn_reader(argv, fd, e);
}

/* Returns true when s is a duration `log show --last` takes: 30s, 10m, 1h, 2d. */
static bool valid_duration(const char *s)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && strchr("smhd", s[n]) && s[n] && s[n + 1] == 0;
}

/* Returns the path of the log a run recorded in its folder, or NULL when it has none. */
static char *recorded_log(const char *run_dir)
{
    char *path = path_join(run_dir, "vz.ndjson");
    return access(path, F_OK) == 0 ? path : (free(path), NULL);
}

/* Finds the log of the bundle's run called name, or when name is NULL of its
 * newest run that recorded one (runs with --no-log have none; install records
 * count).  Returns its path (free it), or NULL with *e (EX_NOINPUT) saying what to do. */
static char *run_log(const char *bundle, const char *name, struct error *e)
{
    if (bundle_found(bundle, e)) {
        char why[sizeof e->text];
        memcpy(why, e->text, sizeof why);
        return fail(e, EX_NOINPUT, "%.900s; or read a log file with --log FILE", why), NULL;
    }
    char *log = NULL;
    if (name) {
        autofree char *dir = find_run(bundle, name, e);
        if (dir && !(log = recorded_log(dir)))
            fail(e, EX_NOINPUT, "run %s recorded no log (it ran with --no-log, or its capture failed)", name);
        return log;
    }
    char **runs;
    size_t n = bundle_runs(bundle, &runs);
    for (size_t i = n; i-- > 0 && !log;)
        log = recorded_log(runs[i]);
    free_names(runs, n);
    if (!log)
        fail(e, EX_NOINPUT, "no recorded run with a log (runs with --no-log have none); run the VM with 'macvm run', "
             "or use --log FILE");
    return log;
}

/* Opens a log file for reading: a regular file, or standard input for "-"
 * (a pipe from `log show`, on purpose).  Returns the descriptor, or -1 with *e (EX_NOINPUT). */
static int open_log(const char *path, struct error *e)
{
    if (strcmp(path, "-") == 0) {
        int fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
        return fd >= 0 ? fd : (fail(e, EX_NOINPUT, "cannot read standard input: %s", strerror(errno)), -1);
    }
    return open_regular(path, e);
}

/* Prints the counts after the lines: the last negotiation with its verdict,
 * the resets (and a reset loop) and a timeline; with --json one last object. */
static int pvg_print_summary(const struct pvg_watch *w, bool json)
{
    struct buf b = {0};
    if (json) {
        struct json j = {.out = &b};
        json_open(&j, NULL, '{');
        json_open(&j, "summary", '{');
        pvg_watch_json(&j, w);
        json_close(&j, '}');
        json_close(&j, '}');
    } else {
        if (w->negotiations) {
            char verdict[512];
            pvg_verdict_text(verdict, sizeof verdict, &w->last);
            buf_printf(&b, "\nNegotiation: guest requested %u, host set %u (%s)\n  %s\n", w->last.guest_version,
                       w->last.host_version, w->last.timestamp, verdict);
        } else {
            buf_puts(&b, "\nNegotiation: none in this log\n");
        }
        buf_printf(&b, "Resets: %" PRIu64 " device reset%s, %" PRIu64 " display%s destroyed and created again\n",
                   w->resets, w->resets == 1 ? "" : "s", w->display_cycles, w->display_cycles == 1 ? "" : "s");
        if (pvg_reset_loop(w)) {
            buf_puts(&b, "  Reset loop: ");
            pvg_loop_text(&b, w);
            buf_puts(&b, "\n");
        }
        buf_puts(&b, "Timeline:\n");
        pvg_timeline(&b, w);
    }
    int rc = print_buf(&b);
    buf_free(&b);
    return rc;
}

/* macvm pvg-log [BUNDLE [--run NAME] | --log FILE | --last DURATION] [--json] */
static int cmd_pvg_log(int argc, char **argv)
{
    static const struct option longs[] = {
        {"log", required_argument, NULL, 'l'}, {"last", required_argument, NULL, 't'},
        {"run", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *file = NULL, *last = NULL, *run = NULL;
    struct pvg_printer p = {0};
    for (int c; (c = next_option("pvg-log", argc, argv, ":h", longs)) != -1;) {
        switch (c) {
        case 'l':
            if (!*(file = optarg))
                return usage_error("pvg-log", "the --log path is empty; name a log file");
            break;
        case 't': last = optarg; break;
        case 'r': run = optarg; break;
        case 'j': p.json = true; break;
        default: return c == 'H' ? 0 : EX_USAGE;
        }
    }
    if ((file != NULL) + (last != NULL) + (optind < argc) > 1 || argc - optind > 1)
        return usage_error("pvg-log", "give one source: a bundle, --log FILE or --last DURATION");
    if (run && (file || last))
        return usage_error("pvg-log", "--run names a run of a bundle: not with --log or --last");
    if (last && !valid_duration(last))
        return usage_error("pvg-log", "--last '%s' is not a duration such as 30m, 2h or 1d", last);
    struct error e = {0};
    autofree char *source = NULL;   /* where the lines come from, as messages name it */
    int fd = -1;
    pid_t child = -1;
    if (last) {
        if (!on_macos())
            return fail(&e, EX_UNAVAILABLE, "--last reads this Mac's unified log, and this host is not a Mac; copy a "
                        "log here and use --log FILE"), report("pvg-log", &e);
        struct buf b = {0};
        buf_printf(&b, "the system log (last %s)", last);
        source = b.data;
        if ((child = spawn_log_show(last, &fd, &e)) < 0)
            return report("pvg-log", &e);
    } else if (file) {
        source = xstrdup(strcmp(file, "-") == 0 ? "standard input" : file);
    } else if (optind < argc && !*argv[optind]) {   /* else taken for the current folder */
        return usage_error("pvg-log", "the bundle's path is empty; name a bundle");
    } else {
        autofree char *bundle = bundle_path(optind < argc ? argv[optind] : NULL);
        if (!(source = run_log(bundle, run, &e)))
            return report(bundle, &e);
    }
    if (!last && (fd = open_log(file ? file : source, &e)) < 0) {
        fail_advice(&e, file ? "name a log file you can read (log show --style ndjson writes one)"
                    : "read another run with --run NAME ('macvm info' lists them)");
        return report(source, &e);
    }
    struct log_scan s = {.needle = PVG_NEEDLE, .fn = pvg_print_event, .ctx = &p};
    static char out_buf[1 << 16];   /* a dense log prints a line for every third: fewer, larger writes */
    if (!isatty(STDOUT_FILENO))
        setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
    int rc = log_scan_fd(&s, fd, &e);
    close(fd);
    int status = 0;
    if (child > 0 && waitpid(child, &status, 0) == child && rc == 0 &&
        !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rc = fail(&e, EX_UNAVAILABLE, "%s show failed (exit %d); run it by hand to see why: log show --last %s",
                  log_tool(), WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), last);
    buf_free(&p.out);
    if (rc)
        return report(source, &e);
    fflush(stdout);   /* the lines found come before what is said about them */
    if (s.stats.malformed || s.stats.oversized)
        tell(stderr, "macvm: %s: skipped %" PRIu64 " malformed and %" PRIu64 " oversized records", source,
             s.stats.malformed, s.stats.oversized);
    if (!p.watch.negotiations && !p.watch.resets && !p.watch.display_cycles) {
        tell(stderr, "macvm: %s: no paravirtualized-graphics version negotiation found (%" PRIu64 " PVG lines in %"
             PRIu64 " records)", source, p.watch.lines, s.stats.records);
        return EXIT_NOTHING_FOUND;
    }
    return pvg_print_summary(&p.watch, p.json);
}

/* --- macvm feedback --- */

/* Checks where -o FILE may write: a new file, or (with --force) a regular
 * file to replace; never a device, FIFO, folder or link, and never anywhere
 * inside a VM bundle, whose files and run records are not a report's to
 * replace.  Returns 0 or EX_CANTCREAT. */
static int output_allowed(const char *path, bool force, struct error *e)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return fail(e, EX_CANTCREAT, "is %s, not a regular file; name a new file", file_kind(st.st_mode));
    if (lstat(path, &st) == 0 && !force)
        return fail(e, EX_CANTCREAT, "already exists; use --force to replace it, or name another file");
    autofree char *dir = path_dir(path);
    if (stat(dir, &st) != 0 && errno == ENOENT) {
        struct buf quoted = {0};
        shell_quote(&quoted, dir);
        fail(e, EX_CANTCREAT, "the folder %s does not exist; create it (mkdir -p %s) or name a file in another folder",
             dir, quoted.data);
        buf_free(&quoted);
        return e->code;
    }
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return fail(e, EX_CANTCREAT, "%s is %s, not a folder; name a file in a folder", dir, file_kind(st.st_mode));
    autofree char *real = realpath(dir, NULL);
    if (!real)
        return fail(e, EX_CANTCREAT, "cannot write in %s: %s; name a file in a folder you can write", dir,
                    strerror(errno));
    static const char *const marks[] = {BUNDLE_DISK, BUNDLE_AUX, BUNDLE_HARDWARE_MODEL, BUNDLE_MACHINE_IDENTIFIER};
    for (;;) {   /* the folder and each one above it */
        for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
            autofree char *mark = path_join(real, marks[i]);
            if (lstat(mark, &st) == 0)
                return fail(e, EX_CANTCREAT, "is inside the VM bundle %s; write the report outside it", real);
        }
        char *slash = strrchr(real, '/');
        if (!slash || slash == real)
            return 0;
        *slash = 0;
    }
}

/* macvm feedback [BUNDLE] [-o FILE] [--force] [--no-redact] [--run NAME] */
static int cmd_feedback(int argc, char **argv)
{
    const char *output = NULL, *run = NULL;
    int no_redact = 0, force = 0;   /* set by getopt_long */
    const struct option longs[] = {
        {"output", required_argument, NULL, 'o'},
        {"no-redact", no_argument, &no_redact, 'n'}, {"force", no_argument, &force, 'f'},
        {"run", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'}, {0},
    };
    for (int c; (c = next_option("feedback", argc, argv, ":o:h", longs)) != -1;) {
        if (c == 'o' && *optarg)
            output = strcmp(optarg, "-") == 0 ? NULL : optarg;   /* "-": standard output, as for most tools */
        else if (c == 'r')
            run = optarg;
        else if (c == 'o')
            return usage_error("feedback", "-o needs a file name");
        else
            return c == 'H' ? 0 : EX_USAGE;
    }
    bool redacted = !no_redact;
    autofree char *bundle = bundle_operand("feedback", argc, argv);
    if (!bundle)
        return EX_USAGE;
    struct error e = {0};
    if (output && output_allowed(output, force, &e))
        return report(output, &e);
    struct feedback f = {0};
    if (feedback_gather(&f, bundle, run, &e)) {
        feedback_free(&f);
        return report(bundle, &e);
    }
    struct host_info host;
    bool on_host = bridge_host_info(&host) == BRIDGE_OK && host.available;
    /* The Markdown shows every name the report holds: the redaction is built
     * from it, then the report is rendered again with its data redacted. */
    struct buf raw = {0}, out = {0};
    feedback_markdown(&raw, &f, on_host);
    struct redaction r;
    redaction_for(&r, &f, raw.data);
    buf_free(&raw);
    f.redaction = redacted ? &r : NULL;
    feedback_markdown(&out, &f, on_host);
    feedback_free(&f);
    int rc;
    if (!output) {
        fwrite(out.data, 1, out.len, stdout);
        rc = flush_stdout();
    } else if ((rc = write_file_atomic(output, out.data, out.len, force, &e)) == 0) {
        tell(stderr, "macvm: wrote %s%s", output, redacted ? " (redacted: ECID, serial, MAC, user, host and home; the report "
             "says what redaction cannot know)" : "");
    } else {
        if (strncmp(e.text, "cannot ", 7) == 0)   /* write_file_atomic's failures; "already exists" has its advice */
            fail_advice(&e, rc == EX_CANTCREAT ? "nothing was written: name another file, in a folder you can write"
                        : "nothing was written: free some space, or name a file on another volume");
        report(output, &e);
    }
    buf_free(&out);
    return rc;
}

/* --- macvm doctor --- */

/* Adds what Virtualization says of bundle's run configuration to *p: a row
 * `configuration` (validateWithError: of a normal window run, as `run` would
 * start it), and for save-restore whether it saves Apple's save set for this
 * bundle (validateSaveRestoreSupportWithError:) and whether the bundle's runs
 * do.  Returns 0, or the bundle's exit code with *e. */
static int probe_bundle(struct probe *p, const struct host_info *host, const char *bundle, struct error *e)
{
    struct vm_config c;
    uint64_t ecid;
    struct run_options o = {.no_log = true};
    struct vm_spec spec, save_set;
    int rc = load_for_run(bundle, &c, &ecid, e);
    if (rc)
        return rc;
    struct error refused = {0};   /* the row's failure, not the bundle's: doctor goes on */
    if (resolve_vm_spec(&o, bundle, &c, ecid, host, &spec, &refused) != 0) {   /* what `run` would refuse */
        probe_set(p, "configuration", PROBE_FAILED, "macvm would not run %s: %s", bundle, refused.text);
        return 0;
    }
    bool saves = false;
    struct bridge_error err = {0}, save_err = {0};
    int status = bridge_check_configuration(&spec, &saves, &err, &save_err);
    if (status != BRIDGE_OK) {
        probe_set(p, "configuration", PROBE_FAILED, "Virtualization refuses %s's configuration: %s (%s code %ld)",
                  bundle, err.message, err.domain, err.code);
        return 0;
    }
    probe_set(p, "configuration", PROBE_AVAILABLE, "Virtualization accepts %s's configuration", bundle);
    if (probe_status_of(p, "save-restore") != PROBE_AVAILABLE)
        return 0;
    save_set = spec;   /* Apple's save set: the Mac keyboard and trackpad only */
    save_set.mac_keyboard = save_set.mac_trackpad = true;
    save_set.usb_keyboard = save_set.usb_pointer = false;
    status = bridge_check_configuration(&save_set, &saves, &err, &save_err);
    if (status != BRIDGE_OK || !saves)
        probe_set(p, "save-restore", PROBE_FAILED, "Virtualization will not save %s with Apple's save set: %s",
                  bundle, status != BRIDGE_OK ? err.message : save_err.message);
    else if (!spec.save_possible)
        probe_set(p, "save-restore", PROBE_AVAILABLE, "Virtualization saves Apple's save set for %s, but its runs "
                  "do not save: %s", bundle, spec.save_why_not);
    else
        probe_set(p, "save-restore", PROBE_AVAILABLE, "Virtualization saves %s's runs: Quit saves the state", bundle);
    return 0;
}

/* Sets the row `install` to whether Virtualization loads ipsw and runs its VM here. */
static void probe_image(struct probe *p, const char *ipsw)
{
    struct restore_image_info info;
    struct bridge_error err = {0};
    if (probe_status_of(p, "install") != PROBE_AVAILABLE)
        return;
    if (bridge_load_restore_image(ipsw, &info, &err) != BRIDGE_OK)
        probe_set(p, "install", PROBE_FAILED, "%s does not load: %s (%s code %ld)", ipsw, err.message, err.domain,
                  err.code);
    else if (!info.supported_on_host)
        probe_set(p, "install", PROBE_FAILED, "%s loads, but no hardware model of it runs on this Mac", ipsw);
    else
        probe_set(p, "install", PROBE_AVAILABLE, "%s loads; its VM runs on this Mac", ipsw);
}

/* macvm doctor [--probe] [--ipsw FILE] [--json] [BUNDLE]: the host checks, or
 * with --probe one row per feature of probe_features (with a bundle, what
 * Virtualization says of its configuration).  --ipsw adds what the image
 * needs of the host, or with --probe whether Virtualization loads it.
 * Returns 0, or EX_UNAVAILABLE when a row failed or (--probe) Virtualization
 * is not here; an unreadable image's or bundle's own code before that. */
static int cmd_doctor(int argc, char **argv)
{
    const char *ipsw = NULL;
    int json = 0, probe = 0;   /* set by getopt_long */
    const struct option longs[] = {
        {"ipsw", required_argument, NULL, 'i'}, {"json", no_argument, &json, 'j'}, {"probe", no_argument, &probe, 'p'},
        {"help", no_argument, NULL, 'h'}, {0},
    };
    for (int c; (c = next_option("doctor", argc, argv, ":h", longs)) != -1;) {
        if (c != 'i')
            return c == 'H' ? 0 : EX_USAGE;
        ipsw = optarg;
    }
    if (ipsw && !*ipsw)   /* else "cannot open", naming no file */
        return usage_error("doctor", "the --ipsw path is empty; name a restore image (.ipsw) file");
    autofree char *bundle = bundle_operand("doctor", argc, argv);
    if (!bundle)
        return EX_USAGE;
    struct host_info host;
    bridge_host_info(&host);
    if (probe && !host.available)
        return unavailable_here("doctor --probe");
    struct probe p = {0};
    struct error e = {0};
    if (probe) {
        probe_host(&p, &host);
        if (optind < argc && probe_bundle(&p, &host, bundle, &e) != 0)
            return report(bundle, &e);
        struct stat st;   /* Virtualization would wait for ever on a FIFO's writer */
        if (ipsw && stat(ipsw, &st) == 0 && !S_ISREG(st.st_mode))
            fail(&e, EX_NOINPUT, "is %s, not a regular file", file_kind(st.st_mode));
        else if (ipsw)
            probe_image(&p, ipsw);
    } else {
        doctor_run(&p, &host, bundle);
        if (ipsw)
            doctor_ipsw(&p, &host, ipsw, &e);
    }
    struct buf b = {0};
    struct json j = {.out = &b};
    if (json)
        probe_json(&j, NULL, &p);
    else
        probe_text(&b, &p);
    int rc = print_buf(&b);
    buf_free(&b);
    if (e.code)   /* bad input outranks what the host lacks */
        return ipsw_advice(&e), report(ipsw, &e);
    return rc ? rc : doctor_exit(&p);
}

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
    {"ipsw", cmd_ipsw, "inspect a restore image without extracting it",
     "ipsw FILE [--json]",
     "Inspects a macOS restore image (IPSW) without extracting it: version, build,\n"
     "whether it installs in a VM, and what that VM needs.  Reads a few MiB of\n"
     "a 20 GB image.\n"
     "  --json                 one JSON object (keys in macvm(1))\n"},
    {"info", cmd_info, "show a bundle: hardware, ECID, disk, configuration, runs",
     "info [BUNDLE] [--json]",
     "Shows a VM bundle: hardware model, ECID, disk size and real use, auxiliary\n"
     "storage, configuration (and which values are defaults), the installed macOS,\n"
     "saved state and recorded runs.  Names every missing or damaged file (exit 65).\n"
     "  --json                 one JSON object (keys in macvm(1))\n"},
    {"install", cmd_install, "create a bundle and install macOS into it (on a Mac)",
     "install [--ipsw FILE | --latest] [--disk-size SIZE] [--cpus N] [--memory SIZE]\n"
     "              [--serial-number S] [BUNDLE]",
     "Creates a new bundle and installs macOS into it (macOS on Apple Silicon only).\n"
     "Checks the image first; never touches an existing bundle.  Records the install\n"
     "and its log in logs/<start time>-install/.\n"
     "  --ipsw FILE            install from this restore image\n"
     "  --latest               download the newest image this Mac supports (the default)\n"
     "  --disk-size SIZE       size of the sparse Disk.img (default 64G; e.g. 80G, 1T)\n"
     "  --cpus N               CPUs, recorded in Config.plist (default: host cores - 1,\n"
     "                         at least what the image needs)\n"
     "  --memory SIZE          memory, recorded in Config.plist (default 4G, at least what\n"
     "                         the image needs)\n"
     "  --serial-number S      experimental: the VM's serial number (10 capital letters\n"
     "                         and digits; macOS 13+, the private entitlement)\n"},
    {"run", cmd_run, "boot a VM in a window or headless, recording its log",
     "run [options] [BUNDLE]",
     "Boots a VM in a window or headless, and records its log under logs/.  Quit\n"
     "saves the state where the run can (macOS 14+ host and guest, normal start;\n"
     "--dry-run says why not), else asks the guest to shut down.\n"
     "  --dry-run              print the VM description and do nothing else (any OS)\n"
     "  --json                 with --dry-run: print it as JSON\n"
     "  --recovery             start in macOS Recovery\n"
     "  --dfu                  start in DFU mode (black screen; a USB DFU device)\n"
     "  --iboot-stage1         experimental: stop in iBoot stage 1 (may boot normally)\n"
     "  --iboot-stage2         experimental: stop in iBoot stage 2 (may boot normally)\n"
     "  --debug-stub[=PORT]    attach a GDB stub (port chosen by the system without PORT);\n"
     "                         needs the com.apple.private.virtualization entitlement\n"
     "  --debug-stub-all-interfaces  let the stub listen beyond 127.0.0.1\n"
     "  --boot-args ARGS       set the NVRAM boot-args before starting (\"\" clears them)\n"
     "  --headless             no window; Ctrl-C asks the guest to stop, twice forces it\n"
     "  --audio                add a sound device\n"
     "  --save-on-stop         Ctrl-C saves the state too (a run that can save)\n"
     "  --ephemeral            run a disposable clone; the bundle is never written\n"
     "  --no-log               do not record the unified log of this run\n"
     "  --cpus N               CPUs for this run\n"
     "  --memory SIZE          memory for this run (e.g. 8G)\n"
     "  --disk-cache MODE      automatic (Apple's default), cached or uncached\n"
     "  --disk-sync MODE       full (Apple's default), fsync, or none (fast; a crash of\n"
     "                         the host can corrupt the disk: throwaway VMs only)\n"
     "  --console              a virtio console (the guest's /dev/cu.virtio) to console.log\n"
     "  --serial               experimental: the PL011 UART (iBoot, the kernel with serial\n"
     "                         boot-args) to serial.log; needs the private entitlement\n"
     "  --panic halt|restart   experimental: what the guest does when its kernel panics\n"
     "  --share DIR[:ro|:rw]   share a host folder (read-write; :ro read-only); in the\n"
     "                         guest: /Volumes/My Shared Files/NAME (up to 4)\n"
     "  --screenshot           experimental: save the display to screen.png when an error\n"
     "                         or a Ctrl-C ends the run (macOS 14+)\n"},
    {"clone", cmd_clone, "copy a bundle, copy-on-write where the filesystem can",
     "clone [--new-identity] SRC DST",
     "Clones a bundle: copy-on-write where the filesystem can (APFS, btrfs, XFS),\n"
     "else a copy that keeps Disk.img sparse.  DST must not exist; a partial DST is\n"
     "removed on any failure or Ctrl-C.  The clone has its original's identity.\n"
     "  --new-identity         experimental: give the clone its own ECID and MAC address\n"
     "                         (macOS 13+), so it runs beside its original\n"},
    {"pvg-log", cmd_pvg_log, "show a run's paravirtualized-graphics negotiation and resets",
     "pvg-log [BUNDLE [--run NAME] | --log FILE | --last DURATION] [--json]",
     "Prints the paravirtualized-graphics lines of the bundle's newest run (or of a\n"
     "log file in ndjson, json or text style, or of this Mac's log), the renderer\n"
     "version negotiation with a verdict, the renderer resets (a reset loop is the\n"
     "finding of today's hosts) and a short timeline.  Exit 1 when there is neither\n"
     "a negotiation nor a reset.\n"
     "  --run NAME             read this run of the bundle (install records too)\n"
     "  --log FILE             read this file (from log stream/show)\n"
     "  --last DURATION        read this Mac's unified log, e.g. 1h (macOS only)\n"
     "  --json                 NDJSON: one object per negotiation, then the counts\n"},
    {"feedback", cmd_feedback, "write a report for Apple's Feedback Assistant",
     "feedback [BUNDLE] [-o FILE] [--force] [--no-redact] [--run NAME]",
     "Writes a report for Apple's Feedback Assistant (area: Virtualization) from the\n"
     "bundle's newest run.  ECID, serial number, MAC addresses, user and host names\n"
     "and home are redacted.\n"
     "  -o, --output FILE      write to FILE (atomically) instead of stdout\n"
     "  --force                replace an existing FILE\n"
     "  --no-redact            keep ECID, serial number, MAC addresses, user and host\n"
     "                         names and paths\n"
     "  --run NAME             report on this run (a folder name under logs/, or under\n"
     "                         NAME.ephemeral-logs/ for a disposable run)\n"},
    {"doctor", cmd_doctor, "check this host (and an image) before running VMs",
     "doctor [--probe] [--ipsw FILE] [--json] [BUNDLE]",
     "Checks this host: Apple Silicon, macOS, entitlements, free space, running VMs,\n"
     "and with --ipsw what that image needs of the host.  Exit 69 when a check fails.\n"
     "  --probe                instead: look up every feature macvm uses on this Mac\n"
     "                         (available, missing, needs-private-entitlement, failed);\n"
     "                         private API is experimental; boots nothing\n"
     "  --ipsw FILE            also check what this restore image needs (with --probe:\n"
     "                         also load it)\n"
     "  --json                 one JSON array of {check, status, detail}, or with\n"
     "                         --probe of {feature, status, detail}\n"},
    {"help", cmd_help, "list the commands, or show one command's options",
     "help [COMMAND]", "Shows the commands, or one command's options.\n"},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Prints one command's help.  Returns 0. */
static int print_command_help(const struct command *c, FILE *to)
{
    fprintf(to, "usage: macvm %s\n\n%s", c->synopsis, c->help);
    return 0;
}

/* Prints the overview of every command.  Returns 0. */
static int print_help(FILE *to)
{
    fputs("macvm " MACVM_VERSION " -- a reference and debug harness for macOS VMs on Apple Silicon\n\n"
          "usage: macvm COMMAND [options] [args]\n\ncommands:\n", to);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(to, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'macvm help COMMAND' or 'macvm COMMAND --help' shows a command's options.\n"
          "BUNDLE defaults to ~/" DEFAULT_BUNDLE ".  See macvm(1).\n", to);
    return 0;
}

/* Returns true when arg asks for help: -h or --help. */
static bool asks_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}


/* What users of tart or Apple's sample type, and macvm's way to do it. */
static const char *const habits[][2] = {
    {"create", "to make a VM: macvm install [BUNDLE]"},
    {"get", "to show a VM: macvm info [BUNDLE]"},
    {"delete", "to delete a VM: stop it, then rm -r BUNDLE"},
    {"stop", "to stop a VM: Ctrl-C where macvm runs it (twice forces it), or kill PID"},
    {"set", "to change a VM: run's --cpus and --memory, or plutil -replace KEY -integer N BUNDLE/Config.plist"},
};

/* Refuses an unknown command, with macvm's way when it is another tool's
 * habit.  Returns EX_USAGE. */
static int not_a_command(const char *name)
{
    const char *instead = "'macvm help' lists them";
    for (size_t i = 0; i < sizeof habits / sizeof *habits; i++)
        if (strcmp(habits[i][0], name) == 0)
            instead = habits[i][1];
    struct error e = {0};
    /* reported (escaped): a name with control characters stays one line */
    return fail(&e, EX_USAGE, "'%.500s' is not a command; %s", name, instead), report(NULL, &e);
}

/* macvm help [COMMAND] */
static int cmd_help(int argc, char **argv)
{
    if (argc < 2)
        return print_help(stdout);
    const struct command *c = find_command(asks_help(argv[1]) ? "help" : argv[1]);
    return c ? print_command_help(c, stdout) : not_a_command(argv[1]);
}

/* =============================== 9. main ================================ */

#ifdef MACVM_TEST
#define main macvm_main   /* tests/unit.c includes this file and has its own main */
#endif

int main(int argc, char **argv)
{
    signal(SIGXFSZ, SIG_IGN);   /* a file-size limit is an error to report, not a kill */
    if (argc < 2)
        return print_help(stderr), EX_USAGE;
    if (asks_help(argv[1]))
        return print_help(stdout), flush_stdout();
    if (strcmp(argv[1], "--version") == 0) {
        puts("macvm " MACVM_VERSION);
        return flush_stdout();
    }
    const struct command *c = find_command(argv[1]);
    if (!c)
        return not_a_command(argv[1]);
    optind = 1;
    int rc = c->run(argc - 1, argv + 1);
    return flush_stdout() ? EX_IOERR : rc;   /* output lost is never a success */
}

/* ============================= A. Utilities ============================= */

/* Returns the length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (len == 0 || len > n || s[0] > 0xF4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
        return 0;   /* overlong, or a UTF-16 surrogate */
    if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
        return 0;
    return len;
}

/* Returns whether the NUL-terminated s is all valid UTF-8. */
static bool is_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t n = strlen(s), len; n; p += len, n -= len)
        if ((len = utf8_sequence(p, n)) == 0)
            return false;
    return true;
}

/* Appends s as a JSON string: quotes, escapes, and U+FFFD for bytes that are not UTF-8. */
static void json_string(struct buf *b, const char *s, size_t n)
{
    buf_add(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            buf_add(b, esc, 2);
            i++;
        } else if (c < 0x20) {
            const char *named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
            if (named)
                buf_puts(b, named);
            else
                buf_printf(b, "\\u%04x", c);
            i++;
        } else if (c == 0x7f || (c == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] < 0xA0)) {
            /* DEL and C1 as escapes too: the terminal escaping of print_buf then finds nothing to change */
            buf_printf(b, "\\u%04x", c == 0x7f ? c : p[i + 1]);
            i += c == 0x7f ? 1 : 2;
        } else {
            size_t len = utf8_sequence(p + i, n - i);
            if (len == 0) {
                buf_puts(b, "\xEF\xBF\xBD");
                i++;
            } else {
                buf_add(b, p + i, len);
                i += len;
            }
        }
    }
    buf_add(b, "\"", 1);
}

/* Returns the code point of the UTF-8 sequence of len bytes at p if it
 * reorders or breaks the text around it: a line or paragraph separator
 * (U+2028, U+2029), a bidirectional mark (U+061C, U+200E, U+200F),
 * embedding or override (U+202A-U+202E) or isolate (U+2066-U+2069), with
 * which "VM<U+202E>gpj.exe" shows as "VMexe.jpg"; or 0. */
static unsigned text_reordering(const unsigned char *p, size_t len)
{
    unsigned c = len == 2 ? (p[0] & 0x1Fu) << 6 | (p[1] & 0x3Fu)
               : len == 3 ? (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu) : 0;
    return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x2028 && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)
           ? c : 0;
}

/* Appends s for a terminal: control characters (C0, DEL, C1), characters
 * that reorder or break a line (text_reordering) and bytes that are not
 * UTF-8 become escapes ("\n", "\x1b", "\u009b", "\u202e"), so a name or a
 * plist string can neither move the cursor nor begin a line of its own nor
 * disguise what comes after it.
 * With lines, newlines stay (for a whole text whose data was escaped already). */
static void text_escaped(struct buf *b, const char *s, size_t n, bool lines)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_sequence(p + i, n - i);
        unsigned reordering = text_reordering(p + i, len);
        if (len == 1 && p[i] == '\n' && lines)
            buf_add(b, "\n", 1);
        else if (len == 1 && p[i] == '\n')
            buf_puts(b, "\\n");
        else if (len == 1 && p[i] == '\r')
            buf_puts(b, "\\r");
        else if (len == 1 && p[i] != '\t' && (p[i] < 0x20 || p[i] == 0x7f))
            buf_printf(b, "\\x%02x", p[i]);
        else if (len == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0)
            buf_printf(b, "\\u%04x", p[i + 1]);
        else if (reordering)
            buf_printf(b, "\\u%04x", reordering);
        else if (len == 0)
            buf_printf(b, "\\x%02x", p[i]);
        else
            buf_add(b, p + i, len);
        i += len ? len : 1;
    }
}

/* Appends a value from a file or a path to text output, escaped (text_escaped). */
static void buf_text(struct buf *b, const char *s)
{
    text_escaped(b, s, strlen(s), false);
}

/* Prints one line on stderr, "macvm: KIND[SUBJECT: ]text", whatever the
 * subject and text hold: an error is one line, also under --json. */
static void say(const char *kind, const char *subject, const char *text)
{
    struct buf b = {0};
    buf_printf(&b, "macvm: %s", kind);
    if (subject && *subject) {
        buf_text(&b, subject);
        buf_puts(&b, ": ");
    }
    buf_text(&b, text);
    buf_add(&b, "\n", 1);
    fputs(b.data, stderr);
    buf_free(&b);
}

/* Prints one line of macvm's own words with paths in it (stdout or stderr),
 * escaped as say() escapes: a name with ESC or a newline cannot draw. */
static void tell(FILE *to, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tell(FILE *to, const char *fmt, ...)
{
    char *text;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);   /* a path of any length is told whole */
    va_end(ap);
    struct buf b = {0};
    buf_text(&b, check_alloc(n < 0 ? NULL : text));
    buf_add(&b, "\n", 1);
    fputs(b.data, to);
    buf_free(&b);
    free(text);
}

/* Flushes standard output and says once, in one line, when what was written
 * there was lost (a full disk, a file-size limit): "standard output: No
 * space left on device".  Returns 0 or EX_IOERR. */
static int flush_stdout(void)
{
    static bool said;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    int err = errno ? errno : EIO;
    if (!said)
        say("", "standard output", strerror(err));
    said = true;
    return EX_IOERR;
}

/* Appends at most max bytes of s, never cutting a UTF-8 character in two. */
static void buf_add_cut(struct buf *b, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    buf_add(b, s, n);
}

static void json_member(struct json *j, const char *key)
{
    if (j->comma[j->depth])
        buf_add(j->out, ",", 1);
    j->comma[j->depth] = true;
    if (key) {
        json_string(j->out, key, strlen(key));
        buf_add(j->out, ":", 1);
    }
}

static void json_open(struct json *j, const char *key, char bracket)
{
    json_member(j, key);
    buf_add(j->out, &bracket, 1);
    j->comma[++j->depth] = false;
}

static void json_close(struct json *j, char bracket)
{
    buf_add(j->out, &bracket, 1);
    j->depth--;
}

static void json_str(struct json *j, const char *key, const char *value)
{
    json_member(j, key);
    if (value)
        json_string(j->out, value, strlen(value));
    else
        buf_puts(j->out, "null");
}

static void json_int(struct json *j, const char *key, long long value)
{
    json_member(j, key);
    buf_printf(j->out, "%lld", value);
}

static void json_uint(struct json *j, const char *key, unsigned long long value)
{
    json_member(j, key);
    buf_printf(j->out, "%llu", value);
}

static void json_bool(struct json *j, const char *key, bool value)
{
    json_member(j, key);
    buf_puts(j->out, value ? "true" : "false");
}

static void json_null(struct json *j, const char *key)
{
    json_str(j, key, NULL);
}

/* Writes b to stdout as lines: one newline at its end, whether b has one or
 * not.  Returns 0 or EX_IOERR. */
static int print_buf(const struct buf *b)
{
    size_t len = b->len && b->data[b->len - 1] == '\n' ? b->len - 1 : b->len;
    struct buf shown = {0};   /* no control character reaches the terminal, whatever a value held */
    text_escaped(&shown, b->data ? b->data : "", len, true);
    if (shown.len)
        fwrite(shown.data, 1, shown.len, stdout);
    fputc('\n', stdout);
    buf_free(&shown);
    return flush_stdout();
}

/* Paths.  Every path macvm builds is a new string (free it, or declare it
 * autofree): a path is never cut to fit a buffer, and one the system finds too
 * long fails where it is used, with ENAMETOOLONG's own words. */

/* Returns "dir/name"; a trailing slash of dir is not doubled ("/" + "x" is "/x"). */
static char *path_join(const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    while (dl > 0 && dir[dl - 1] == '/')
        dl--;
    char *out = xmalloc(dl + 1 + strlen(name) + 1);
    sprintf(out, "%.*s/%s", (int)dl, dir, name);
    return out;
}

/* Returns the last component of path, without trailing slashes. */
static char *path_base(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    return check_alloc(strndup(path + start, len - start));
}

/* Returns the directory part of path ("." when there is none). */
static char *path_dir(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    while (len > 0 && path[len - 1] != '/')
        len--;
    while (len > 1 && path[len - 1] == '/')
        len--;
    return len == 0 ? xstrdup(".") : check_alloc(strndup(path, len));
}

/* Returns the user's home directory ($HOME, else the password database). */
static const char *home_dir(void)
{
    const char *home = getenv("HOME");
    if (home && *home)
        return home;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir ? pw->pw_dir : "/";
}

/* Returns what a file that is not a regular one is, for messages. */
static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode) ? "a folder" : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) ? "a character device"
         : S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode) ? "a socket" : S_ISLNK(mode) ? "a symbolic link"
         : S_ISREG(mode) ? "a regular file" : "not a regular file";
}

/* Opens a file to read, which must be a regular one: opened without blocking,
 * so a FIFO or a device where a file belongs is reported, never waited on.
 * Returns the descriptor (blocking again, close-on-exec) with the file's status
 * in *st, or -1 with EX_NOINPUT in *e. */
static int open_regular_stat(const char *path, struct stat *st, struct error *e)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return fail(e, EX_NOINPUT, "cannot open: %s", strerror(errno)), -1;
    if (fstat(fd, st) != 0) {
        int saved = errno;
        close(fd);
        return fail(e, EX_NOINPUT, "cannot read: %s", strerror(saved)), -1;
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return fail(e, EX_NOINPUT, "is %s, not a regular file", file_kind(st->st_mode)), -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

static int open_regular(const char *path, struct error *e)
{
    struct stat st;
    return open_regular_stat(path, &st, e);
}

/* Reads n bytes at off, fewer only where the file ends.  Returns how many, or -1 with errno. */
static ssize_t read_at(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Reads a whole file of at most max bytes into a NUL-terminated buffer.
 * Returns 0, EX_NOINPUT (missing, unreadable, not a regular file) or EX_DATAERR (too large). */
static int read_file(const char *path, size_t max, char **data, size_t *len, struct error *e)
{
    struct stat st;
    int fd = open_regular_stat(path, &st, e);
    if (fd < 0)
        return e->code;
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return fail(e, EX_DATAERR, "is %lld bytes, more than the %zu this file can be",
                    (long long)st.st_size, max);
    }
    char *p = xmalloc((size_t)st.st_size + 1);
    ssize_t got = read_at(fd, p, (size_t)st.st_size, 0);
    int saved = errno;
    close(fd);
    if (got != (ssize_t)st.st_size) {
        free(p);
        return fail(e, EX_IOERR, "read failed: %s", got < 0 ? strerror(saved) : "the file shrank while being read");
    }
    p[got] = 0;
    *data = p;
    *len = (size_t)got;
    return 0;
}

/* Returns the permissions a file written to path gets: those of the file it
 * replaces, else what the user's umask allows (mkstemp's 0600 would hide it,
 * a fixed 0644 would expose a report the user keeps private). */
static mode_t file_mode_for(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return st.st_mode & 07777;
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

/* Writes data to path atomically: a temporary file next to it, fsync, rename.
 * Refuses to replace an existing file unless overwrite.  Returns 0 or an exit code. */
static int write_file_atomic(const char *path, const void *data, size_t len, bool overwrite,
                             struct error *e)
{
    static const char exists[] = "already exists; use --force to replace it, or name another file";
    if (!overwrite && access(path, F_OK) == 0)
        return fail(e, EX_CANTCREAT, "%s", exists);
    autofree char *tmp = xmalloc(strlen(path) + sizeof ".tmp-XXXXXX");
    sprintf(tmp, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return fail(e, EX_CANTCREAT, "cannot create: %s", strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    int saved = errno;
    bool ok = left == 0 && fsync(fd) == 0 && fchmod(fd, file_mode_for(path)) == 0;
    if (!ok && left == 0)
        saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && !overwrite) {
        /* link() fails if path appeared meanwhile; rename() would replace it. */
        ok = link(tmp, path) == 0;
        saved = errno;
        unlink(tmp);
        if (!ok && saved == EEXIST)
            return fail(e, EX_CANTCREAT, "%s", exists);
    } else if (ok) {
        ok = rename(tmp, path) == 0;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        return fail(e, EX_IOERR, "cannot write: %s", strerror(saved));
    }
    return 0;
}

/* Parses a size with a unit: "512M", "80G", "1T", "4GiB", "8192K".
 * Returns true and the bytes in *out; false for nonsense or overflow. */
static bool parse_size(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno || end == s)
        return false;
    unsigned shift;
    switch (toupper((unsigned char)*end)) {
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: return false;
    }
    end++;
    if (strcmp(end, "") != 0 && strcasecmp(end, "B") != 0 && strcasecmp(end, "iB") != 0)
        return false;
    if (n == 0 || n > ((uint64_t)INT64_MAX >> shift))   /* a file's size is an off_t */
        return false;
    *out = (uint64_t)n << shift;
    return true;
}

/* Parses a whole decimal number in [min, max].  Returns false otherwise. */
static bool parse_uint(const char *s, unsigned long long min, unsigned long long max,
                       unsigned long long *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno || *end || n < min || n > max)
        return false;
    *out = n;
    return true;
}

/* Formats bytes for people: "64 GiB", "1.5 GiB", "512 KiB", "17 bytes". */
static const char *human_size(char *out, size_t size, uint64_t bytes)
{
    static const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) {
        snprintf(out, size, "%" PRIu64 " bytes", bytes);
        return out;
    }
    double v = (double)bytes;
    int u = -1;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, size, "%.*f %s", v == (double)(uint64_t)v ? 0 : 1, v, units[u]);
    return out;
}

/* Compares dotted versions ("13.0.0" vs "13.1"), missing parts as zero.
 * Returns <0, 0 or >0. */
static int version_compare(const char *a, const char *b)
{
    while (*a || *b) {
        unsigned long x = strtoul(a, (char **)&a, 10);
        unsigned long y = strtoul(b, (char **)&b, 10);
        if (x != y)
            return x < y ? -1 : 1;
        a += strcspn(a, ".");   /* past what follows the number ("13.0b2"), then the dot */
        b += strcspn(b, ".");
        a += *a == '.';
        b += *b == '.';
    }
    return 0;
}

/* Formats a time as local ISO 8601 with offset: "2026-11-26T14:41:39+0100". */
static const char *iso_time(char *out, size_t size, time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%S%z", &tm);
    return out;
}

/* Returns true when path is a directory (following links). */
static bool is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Creates path and its missing parents (mkdir -p).  Returns 0, or
 * EX_CANTCREAT naming the folder that could not be made. */
static int make_directories(const char *path, struct error *e)
{
    if (is_directory(path))
        return 0;
    autofree char *parent = path_dir(path);
    int rc = strcmp(parent, path) != 0 ? make_directories(parent, e) : 0;
    if (rc || mkdir(path, 0755) == 0)
        return rc;
    int err = errno;   /* is_directory's stat would replace it */
    if (err == EEXIST && is_directory(path))
        return 0;
    if (err == EEXIST)
        return fail(e, EX_CANTCREAT, "cannot create the folder %s: a file, or a link to nothing, of that name is in "
                    "the way; move it aside, then try again", path);
    return fail(e, EX_CANTCREAT, "cannot create %s: %s", path, strerror(err));
}

/* nftw's callback for remove_tree: removes one entry. */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

/* Removes a file tree without following links.  Returns 0, or EX_IOERR
 * naming the tree (what is left of it stays). */
static int remove_tree(const char *path, struct error *e)
{
    struct stat st;
    int rc = lstat(path, &st) != 0 ? (errno == ENOENT ? 0 : -1)
           : S_ISDIR(st.st_mode) ? nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) : unlink(path);
    return rc == 0 ? 0 : fail(e, EX_IOERR, "cannot remove %s: %s", path, strerror(errno));
}

/* Spawns argv[0] (a full path) with its stdout on a pipe and its stderr
 * silenced.  Returns its pid with the pipe's read end in *fd, or -1. */
static pid_t spawn_reader(char *const argv[], int *fd, struct error *e)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return fail(e, EX_OSERR, "pipe: %s", strerror(errno)), -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        return fail(e, EX_UNAVAILABLE, "cannot start %s: %s", argv[0], strerror(rc)), -1;
    }
    *fd = pipefd[0];
    return pid;
}

/* Returns true when macvm was built for macOS. */
static bool on_macos(void)
{
#ifdef __APPLE__
    return true;
#else
    return false;
#endif
}

/* ========================== B. Property lists =========================== */

static const char *plist_type_name(enum plist_type t)
{
    static const char *names[] = {"dict", "array", "string", "integer", "real", "bool", "data", "date", "null"};
    return names[t];
}

/* Returns the value for key in a dict, or NULL. */
static const struct plist *plist_get(const struct plist *dict, const char *key)
{
    if (!dict || dict->type != PLIST_DICT)
        return NULL;
    for (size_t i = dict->count; i-- > 0;)   /* a key given twice: its last value, as plistlib and json take */
        if (strcmp(dict->keys[i], key) == 0)
            return dict->items[i];
    return NULL;
}

/* Returns the dict at key, or NULL when absent or not a dict. */
static const struct plist *plist_dict(const struct plist *dict, const char *key)
{
    const struct plist *v = plist_get(dict, key);
    return v && v->type == PLIST_DICT ? v : NULL;
}

/* Returns the string at key, or NULL when absent or not a string. */
static const char *plist_string(const struct plist *dict, const char *key)
{
    const struct plist *v = plist_get(dict, key);
    return v && v->type == PLIST_STRING ? v->string : NULL;
}

/* Returns the string at key, or "" when absent or not a string. */
static const char *plist_string_or_empty(const struct plist *dict, const char *key)
{
    const char *s = plist_string(dict, key);
    return s ? s : "";
}

/* Returns true and the non-negative integer at key (at most max) in *out. */
static bool plist_uint(const struct plist *dict, const char *key, uint64_t max, uint64_t *out)
{
    const struct plist *v = plist_get(dict, key);
    if (!v || v->type != PLIST_INTEGER || v->negative || v->magnitude > max)
        return false;
    *out = v->magnitude;
    return true;
}

/* Returns the bool at key, or dflt when absent or not a bool. */
static bool plist_bool(const struct plist *dict, const char *key, bool dflt)
{
    const struct plist *v = plist_get(dict, key);
    return v && v->type == PLIST_BOOL ? v->boolean : dflt;
}

static struct plist *plist_new(struct arena *a, enum plist_type type)
{
    struct plist *p = arena_alloc(a, sizeof *p);
    p->type = type;
    return p;
}

/* Appends v (under key, for a dict) to a dict or array built in the arena.
 * Room doubles at 8, 16, 32...: it follows from the count, so builders keep no capacity. */
static void plist_append(struct arena *a, struct plist *node, const char *key, struct plist *v)
{
    size_t n = node->count;
    bool dict = node->type == PLIST_DICT;
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
        size_t room = n ? n * 2 : 8;
        struct plist **items = arena_alloc(a, room * sizeof *items);
        const char **keys = dict ? arena_alloc(a, room * sizeof *keys) : NULL;
        if (n) {
            memcpy(items, node->items, n * sizeof *items);
            if (dict)
                memcpy(keys, node->keys, n * sizeof *keys);
        }
        node->items = items;
        node->keys = keys;
    }
    if (dict)
        node->keys[n] = key;
    node->items[n] = v;
    node->count++;
}

/* --- XML plists --- */

struct xml_parser {
    const char *p, *end, *start;
    struct arena *arena;
    struct error *err;
    const char *skip_key;       /* values of dict members with this key are skipped, not built */
};

/* Records the first error (an inner one says more than the ones it causes).  Returns NULL. */
static struct plist *xml_fail(struct xml_parser *x, const char *what)
{
    if (x->err->code == 0)
        fail(x->err, EX_DATAERR, "XML plist: %s (at byte %td)", what, x->p - x->start);
    return NULL;
}

static bool xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void xml_skip_space(struct xml_parser *x)
{
    while (x->p < x->end && xml_space(*x->p))
        x->p++;
}

static bool xml_starts(struct xml_parser *x, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(x->end - x->p) >= n && memcmp(x->p, s, n) == 0;
}

/* Skips from the current position past the next occurrence of s.  Returns false if absent. */
static bool xml_skip_past(struct xml_parser *x, const char *s)
{
    size_t n = strlen(s);
    const char *hit = memmem(x->p, (size_t)(x->end - x->p), s, n);
    if (!hit)
        return false;
    x->p = hit + n;
    return true;
}

/* Skips white space, comments, processing instructions and the DOCTYPE.
 * Returns false on an unterminated one. */
static bool xml_skip_misc(struct xml_parser *x)
{
    for (;;) {
        xml_skip_space(x);
        if (x->end - x->p < 2 || x->p[0] != '<' || (x->p[1] != '!' && x->p[1] != '?'))
            return true;   /* the common case: a tag */
        const char *stop = xml_starts(x, "<!--") ? "-->" : xml_starts(x, "<?") ? "?>"
                         : xml_starts(x, "<!DOCTYPE") ? ">" : NULL;
        if (!stop)
            return true;
        if (!xml_skip_past(x, stop))
            return false;
    }
}

/* A tag as read: "<name ...>", "<name/>" (empty) or "</name>" (closing). */
struct xml_tag {
    char name[32];
    bool closing, empty;
};

/* Reads a tag into *t.  Returns false when the input has no well-formed tag here. */
static bool xml_read_tag(struct xml_parser *x, struct xml_tag *t)
{
    if (!xml_skip_misc(x) || x->p >= x->end || *x->p != '<')
        return false;
    x->p++;
    t->closing = x->p < x->end && *x->p == '/';
    if (t->closing)
        x->p++;
    size_t n = 0;
    while (x->p < x->end && (isalnum((unsigned char)*x->p) || *x->p == '_' || *x->p == '-')) {
        if (n + 1 >= sizeof t->name)
            return false;
        t->name[n++] = *x->p++;
    }
    t->name[n] = 0;
    const char *gt = memchr(x->p, '>', (size_t)(x->end - x->p));
    if (n == 0 || !gt)
        return false;
    t->empty = gt > x->p && gt[-1] == '/';
    x->p = gt + 1;
    return true;
}

/* Appends the code point c to b as UTF-8. */
static void utf8_put(struct buf *b, uint32_t c)
{
    size_t n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    char s[4];
    for (size_t i = n - 1; i > 0; i--, c >>= 6)
        s[i] = (char)(0x80 | (c & 0x3F));   /* continuation bytes carry 6 bits each, last first */
    s[0] = (char)(n == 1 ? c : ((0xFF00u >> n) & 0xFF) | c);   /* 0xC0, 0xE0 or 0xF0: n-1 leading ones */
    buf_add(b, s, n);
}

/* Decodes one entity at p ("&amp;", "&#60;", "&#x3C;") into b.
 * Returns the bytes consumed, or 0 for an unknown or malformed entity. */
static size_t xml_entity(const char *p, const char *end, struct buf *b)
{
    static const struct { const char *name; char c; } named[] = {
        {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''},
    };
    for (size_t i = 0; i < sizeof named / sizeof *named; i++) {
        size_t n = strlen(named[i].name);
        if ((size_t)(end - p) >= n && memcmp(p, named[i].name, n) == 0) {
            buf_add(b, &named[i].c, 1);
            return n;
        }
    }
    if (end - p < 4 || p[1] != '#')
        return 0;
    bool hex = p[2] == 'x' || p[2] == 'X';
    const char *q = p + (hex ? 3 : 2);
    uint32_t c = 0;
    size_t digits = 0;
    for (; q < end && *q != ';'; q++, digits++) {
        int d = isdigit((unsigned char)*q) ? *q - '0'
              : hex && isxdigit((unsigned char)*q) ? tolower((unsigned char)*q) - 'a' + 10 : -1;
        if (d < 0 || digits >= 8)
            return 0;
        c = c * (hex ? 16 : 10) + (uint32_t)d;
    }
    if (q >= end || digits == 0 || c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    utf8_put(b, c);
    return (size_t)(q + 1 - p);
}

/* Reads character data up to "</name>", decoding entities and CDATA.
 * Returns the text in the arena (its length in *len), or NULL on bad input. */
static const char *xml_text(struct xml_parser *x, const char *name, size_t *len)
{
    char close[64];   /* "</name>", built by hand: this runs for every element of a 200 KB manifest */
    size_t name_len = strlen(name), close_len = name_len + 3;
    if (close_len >= sizeof close)
        return NULL;
    close[0] = '<';
    close[1] = '/';
    memcpy(close + 2, name, name_len);
    close[name_len + 2] = '>';
    close[close_len] = 0;
    /* Most text has no entity and no CDATA: copy it straight into the arena. */
    const char *lt = memchr(x->p, '<', (size_t)(x->end - x->p));
    if (lt && !memchr(x->p, '&', (size_t)(lt - x->p)) && (size_t)(x->end - lt) >= close_len &&
        memcmp(lt, close, close_len) == 0) {
        *len = (size_t)(lt - x->p);
        const char *s = arena_strndup(x->arena, x->p, *len);
        x->p = lt + close_len;
        return s;
    }
    struct buf b = {0};
    while (x->p < x->end && !xml_starts(x, close)) {
        if (xml_starts(x, "<![CDATA[")) {
            const char *start = x->p + 9;
            x->p = start;
            if (!xml_skip_past(x, "]]>"))
                goto bad;
            buf_add(&b, start, (size_t)(x->p - 3 - start));
        } else if (xml_starts(x, "<!--") || xml_starts(x, "<?")) {
            /* a comment or processing instruction inside text, as a hand edit leaves
             * one: "<string>a<!-- was b -->c</string>" is "ac" */
            if (!xml_skip_past(x, x->p[1] == '!' ? "-->" : "?>"))
                goto bad;
        } else if (*x->p == '<') {
            goto bad;
        } else if (*x->p == '&') {
            size_t n = xml_entity(x->p, x->end, &b);
            if (n == 0)
                goto bad;
            x->p += n;
        } else {
            const char *run = x->p;
            while (x->p < x->end && *x->p != '<' && *x->p != '&')
                x->p++;
            buf_add(&b, run, (size_t)(x->p - run));
        }
    }
    if (x->p >= x->end)
        goto bad;
    x->p += close_len;
    *len = b.len;
    const char *s = arena_strndup(x->arena, b.data ? b.data : "", b.len);
    buf_free(&b);
    return s;
bad:
    buf_free(&b);
    return NULL;
}

/* Decodes base64, ignoring white space, into out (room for n * 3 / 4 + 3
 * bytes).  Returns the decoded length, or -1 on a bad character. */
static long base64_decode(const char *s, size_t n, uint8_t *out)
{
    uint32_t acc = 0;
    int bits = 0;
    long len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
              : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
        if (v < 0) {
            if (xml_space((char)c) || c == '=')
                continue;
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (uint8_t)(acc >> bits);
        }
    }
    return len;
}

/* Parses a plist integer text ("-12", "42", "0x1F").  Returns false when malformed. */
static bool parse_plist_integer(const char *s, struct plist *out)
{
    while (isspace((unsigned char)*s))
        s++;
    out->negative = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    int base = s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10;
    if (base == 16)
        s += 2;
    if (!isxdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    out->magnitude = strtoull(s, &end, base);
    while (isspace((unsigned char)*end))
        end++;
    if (errno || *end)
        return false;
    if (out->negative && out->magnitude > (uint64_t)INT64_MAX + 1)
        return false;
    if (out->magnitude == 0)
        out->negative = false;
    return true;
}

/* Parses "2001-01-01T00:00:00Z" into seconds since Apple's epoch. */
static bool parse_plist_date(const char *s, double *out)
{
    struct tm tm = {0};
    char z = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 || z != 'Z')
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (double)timegm(&tm) - 978307200.0;
    return true;
}

static struct plist *xml_value(struct xml_parser *x, int depth);

/* Skips one value element and everything in it without building anything:
 * it only counts nested <dict> and <array>.  Returns false when the input
 * ends first. */
static bool xml_skip_value(struct xml_parser *x)
{
    struct xml_tag t;
    if (!xml_read_tag(x, &t) || t.closing)
        return xml_fail(x, "expected a value element"), false;
    if (t.empty)
        return true;
    bool container = strcmp(t.name, "dict") == 0 || strcmp(t.name, "array") == 0;
    int depth = 1;
    while (depth > 0) {
        const char *lt = memchr(x->p, '<', (size_t)(x->end - x->p));
        if (!lt)
            break;
        x->p = lt;
        /* CDATA, comments and processing instructions may hold "<dict>" that is no tag */
        const char *stop = xml_starts(x, "<![CDATA[") ? "]]>" : xml_starts(x, "<!--") ? "-->"
                         : xml_starts(x, "<?") ? "?>" : NULL;
        if (stop) {
            if (!xml_skip_past(x, stop))
                break;
            continue;
        }
        const char *n = x->p + 1 + (x->end - x->p > 1 && x->p[1] == '/');
        if (container && n < x->end && *n != 'd' && *n != 'a') {
            /* neither <dict> nor <array>: only the end of the tag matters */
            const char *gt = memchr(x->p, '>', (size_t)(x->end - x->p));
            if (!gt)
                break;
            x->p = gt + 1;
            continue;
        }
        if (!xml_read_tag(x, &t))
            break;
        bool nests = strcmp(t.name, "dict") == 0 || strcmp(t.name, "array") == 0;
        if (!t.empty && (!container || nests))
            depth += t.closing ? -1 : 1;
    }
    if (depth > 0)
        return xml_fail(x, "an element that never closes"), false;
    return true;
}

/* Parses the members of <dict> or <array> up to its closing tag. */
static struct plist *xml_container(struct xml_parser *x, bool is_dict, int depth)
{
    struct plist *node = plist_new(x->arena, is_dict ? PLIST_DICT : PLIST_ARRAY);
    for (;;) {
        const char *mark = x->p;
        struct xml_tag t;
        if (!xml_read_tag(x, &t))
            return xml_fail(x, is_dict ? "unterminated <dict>" : "unterminated <array>");
        if (t.closing)
            return strcmp(t.name, is_dict ? "dict" : "array") == 0 ? node : xml_fail(x, "mismatched closing tag");
        const char *key = NULL;
        if (is_dict) {
            size_t len;
            if (strcmp(t.name, "key") != 0 || !(key = t.empty ? "" : xml_text(x, "key", &len)))
                return xml_fail(x, "a <dict> member without a well-formed <key>");
        } else {
            x->p = mark;
        }
        if (key && x->skip_key && strcmp(key, x->skip_key) == 0) {
            if (!xml_skip_value(x))
                return NULL;
            continue;
        }
        struct plist *v = xml_value(x, depth + 1);
        if (!v)
            return NULL;
        plist_append(x->arena, node, key, v);
    }
}

/* Parses one value element.  Returns it, or NULL with x->err set. */
static struct plist *xml_value(struct xml_parser *x, int depth)
{
    if (depth > PLIST_MAX_DEPTH)
        return xml_fail(x, "nested more than 256 levels deep");
    struct xml_tag t;
    if (!xml_read_tag(x, &t) || t.closing)
        return xml_fail(x, "expected a value element");
    if (strcmp(t.name, "dict") == 0 || strcmp(t.name, "array") == 0) {
        bool is_dict = t.name[0] == 'd';
        return t.empty ? plist_new(x->arena, is_dict ? PLIST_DICT : PLIST_ARRAY)
                       : xml_container(x, is_dict, depth);
    }
    if (strcmp(t.name, "true") == 0 || strcmp(t.name, "false") == 0) {
        struct plist *v = plist_new(x->arena, PLIST_BOOL);
        v->boolean = t.name[0] == 't';
        size_t len;
        if (!t.empty && (!xml_text(x, t.name, &len) || len != 0))
            return xml_fail(x, "<true> or <false> with content");
        return v;
    }
    size_t len = 0;
    const char *text = t.empty ? "" : xml_text(x, t.name, &len);
    if (!text)
        return xml_fail(x, "malformed text, an unknown entity, or a missing closing tag");
    struct plist *v;
    if (strcmp(t.name, "string") == 0) {
        v = plist_new(x->arena, PLIST_STRING);
        v->string = text;
        v->count = len;
    } else if (strcmp(t.name, "integer") == 0) {
        v = plist_new(x->arena, PLIST_INTEGER);
        if (!parse_plist_integer(text, v))
            return xml_fail(x, "an <integer> that is not a 64-bit number");
    } else if (strcmp(t.name, "real") == 0) {
        v = plist_new(x->arena, PLIST_REAL);
        char *end;
        v->real = strtod(text, &end);
        if (end == text)
            return xml_fail(x, "a <real> that is not a number");
    } else if (strcmp(t.name, "data") == 0) {
        v = plist_new(x->arena, PLIST_DATA);
        uint8_t *data = arena_alloc(x->arena, len / 4 * 3 + 3);
        long n = base64_decode(text, len, data);
        if (n < 0)
            return xml_fail(x, "<data> that is not base64");
        v->data = data;
        v->count = (size_t)n;
    } else if (strcmp(t.name, "date") == 0) {
        v = plist_new(x->arena, PLIST_DATE);
        if (!parse_plist_date(text, &v->real))
            return xml_fail(x, "a <date> not of the form 2001-01-01T00:00:00Z");
    } else {
        return xml_fail(x, "an unknown element");
    }
    return v;
}

/* Parses an XML plist.  Returns the root, or NULL with *err set (EX_DATAERR). */
static struct plist *plist_parse_xml(const char *buf, size_t len, struct arena *a, struct error *err,
                                     const char *skip_key)
{
    struct xml_parser x = {buf, buf + len, buf, a, err, skip_key};
    struct xml_tag t;
    const char *mark;
    if (len >= 2 && ((buf[0] == '\xFF' && buf[1] == '\xFE') || (buf[0] == '\xFE' && buf[1] == '\xFF') ||
                     (buf[0] == '<' && buf[1] == 0) || (buf[0] == 0 && buf[1] == '<')))
        return fail(err, EX_DATAERR, "XML plist in UTF-16; only UTF-8 is read (plutil -convert xml1 rewrites it in "
                    "UTF-8)"), NULL;
    if (xml_starts(&x, "\xEF\xBB\xBF"))
        x.p += 3;   /* a UTF-8 byte-order mark, as some editors save one */
    if (!xml_skip_misc(&x))
        goto bad;
    mark = x.p;
    if (!xml_read_tag(&x, &t) || t.closing)
        goto bad;
    if (strcmp(t.name, "plist") != 0)
        x.p = mark;   /* tolerate a bare value without the <plist> wrapper */
    struct plist *root = xml_value(&x, 0);
    if (!root)
        return NULL;
    if (strcmp(t.name, "plist") == 0 &&
        (!xml_read_tag(&x, &t) || !t.closing || strcmp(t.name, "plist") != 0))
        return xml_fail(&x, "no closing </plist>");
    if (!xml_skip_misc(&x) || x.p != x.end)
        return xml_fail(&x, "content after the end of the plist");
    return root;
bad:
    return xml_fail(&x, "not an XML property list");
}

/* --- Binary plists (bplist00) --- */

struct bplist {
    const uint8_t *buf;
    size_t len;
    unsigned offset_size, ref_size;
    uint64_t objects, table;
    struct plist **done;            /* parsed objects, shared by every reference */
    uint8_t *visiting;              /* on the current path: seeing one again is a cycle */
    struct arena *arena;
    struct error *err;
};

static struct plist *bplist_fail(struct bplist *b, const char *what)
{
    if (b->err->code == 0)
        fail(b->err, EX_DATAERR, "binary plist: %s", what);
    return NULL;
}

/* Returns the big-endian unsigned integer of n bytes (n <= 8) at p. */
static uint64_t read_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Reads an integer object at off into out.  Returns false when malformed. */
static bool bplist_int_at(struct bplist *b, uint64_t off, struct plist *out, uint64_t *next)
{
    unsigned n = 1u << (b->buf[off] & 0x0F);
    if ((b->buf[off] & 0x0F) > 4 || off + 1 + n > b->table)
        return false;
    const uint8_t *p = b->buf + off + 1;
    out->type = PLIST_INTEGER;
    out->negative = false;
    if (n < 8) {
        out->magnitude = read_be(p, n);
    } else if (n == 8) {
        int64_t s = (int64_t)read_be(p, 8);
        out->negative = s < 0;
        out->magnitude = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
    } else {
        /* 16 bytes: Apple writes unsigned values above 2^63 and, in
         * HardwareModel, small ones this way.  Keep what fits 64 bits. */
        uint64_t hi = read_be(p, 8), lo = read_be(p + 8, 8);
        if (hi == 0) {
            out->magnitude = lo;
        } else if (hi == UINT64_MAX && (lo >> 63)) {
            out->negative = true;
            out->magnitude = (uint64_t)0 - lo;
        } else {
            return false;
        }
    }
    if (next)
        *next = off + 1 + n;
    return true;
}

/* Reads the count of the object at off (the marker's low nibble, or a
 * following integer when it is 0xF).  Returns false when malformed. */
static bool bplist_count(struct bplist *b, uint64_t off, uint64_t *count, uint64_t *start)
{
    unsigned nibble = b->buf[off] & 0x0F;
    if (nibble != 0x0F) {
        *count = nibble;
        *start = off + 1;
        return true;
    }
    struct plist n;
    if (off + 1 >= b->table || (b->buf[off + 1] & 0xF0) != 0x10 ||
        !bplist_int_at(b, off + 1, &n, start) || n.negative)
        return false;
    *count = n.magnitude;
    return true;
}

/* Converts n UTF-16BE code units at p to UTF-8 in the arena. */
static const char *utf16be_to_utf8(struct arena *a, const uint8_t *p, uint64_t n, size_t *len)
{
    struct buf b = {0};
    for (uint64_t i = 0; i < n; i++) {
        uint32_t c = (uint32_t)p[2 * i] << 8 | p[2 * i + 1];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n) {
            uint32_t d = (uint32_t)p[2 * i + 2] << 8 | p[2 * i + 3];
            if (d >= 0xDC00 && d <= 0xDFFF) {
                c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
                i++;
            }
        }
        if (c >= 0xD800 && c <= 0xDFFF)
            c = 0xFFFD;   /* a lone surrogate */
        utf8_put(&b, c);
    }
    *len = b.len;
    const char *s = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return s;
}

static struct plist *bplist_object(struct bplist *b, uint64_t ref, int depth);

/* Returns whether any of the n bytes at p is above 127. */
static bool has_high_byte(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] > 127)
            return true;
    return false;
}

/* Reads the object reference number i of a container whose refs start at start. */
static uint64_t bplist_ref(struct bplist *b, uint64_t start, uint64_t i)
{
    return read_be(b->buf + start + i * b->ref_size, b->ref_size);
}

/* Parses an array, set or dict with count members whose refs start at start. */
static struct plist *bplist_container(struct bplist *b, uint8_t kind, uint64_t count,
                                      uint64_t start, int depth)
{
    uint64_t refs = kind == 0xD ? count * 2 : count;
    if (count > b->len || start + refs * b->ref_size > b->table)
        return bplist_fail(b, "a container runs past the object table");
    struct plist *node = plist_new(b->arena, kind == 0xD ? PLIST_DICT : PLIST_ARRAY);
    node->count = (size_t)count;
    node->items = arena_alloc(b->arena, (size_t)count * sizeof *node->items);
    if (kind == 0xD)
        node->keys = arena_alloc(b->arena, (size_t)count * sizeof *node->keys);
    for (uint64_t i = 0; i < count; i++) {
        if (kind == 0xD) {
            struct plist *k = bplist_object(b, bplist_ref(b, start, i), depth + 1);
            if (!k)
                return NULL;
            if (k->type != PLIST_STRING)
                return bplist_fail(b, "a dict key that is not a string");
            node->keys[i] = k->string;
        }
        uint64_t vref = bplist_ref(b, start, kind == 0xD ? count + i : i);
        if (!(node->items[i] = bplist_object(b, vref, depth + 1)))
            return NULL;
    }
    return node;
}

/* Parses the object at off, whose marker byte says its kind and, in its low
 * nibble, its size or count.  Returns it, or NULL with b->err set. */
static struct plist *bplist_value(struct bplist *b, uint64_t off, int depth)
{
    uint8_t marker = b->buf[off], kind = marker >> 4;
    uint64_t count, start;
    switch (kind) {
    case 0x0: {
        if (marker != 0x08 && marker != 0x09)
            return bplist_fail(b, "a null or fill object where a value belongs");
        struct plist *v = plist_new(b->arena, PLIST_BOOL);
        v->boolean = marker == 0x09;
        return v;
    }
    case 0x1:
    case 0x8: {   /* UID: keyed archives only; kept as its integer */
        struct plist *v = plist_new(b->arena, PLIST_INTEGER);
        if (kind == 0x1)
            return bplist_int_at(b, off, v, NULL) ? v : bplist_fail(b, "a malformed or over-wide integer");
        unsigned n = (marker & 0x0F) + 1u;
        if (n > 8 || off + 1 + n > b->table)
            return bplist_fail(b, "a malformed UID");
        v->magnitude = read_be(b->buf + off + 1, n);
        return v;
    }
    case 0x2:
    case 0x3: {
        unsigned n = kind == 0x3 ? 8 : 1u << (marker & 0x0F);
        if ((kind == 0x3 && marker != 0x33) || (n != 4 && n != 8) || off + 1 + n > b->table)
            return bplist_fail(b, "a malformed real or date");
        struct plist *v = plist_new(b->arena, kind == 0x3 ? PLIST_DATE : PLIST_REAL);
        uint64_t bits = read_be(b->buf + off + 1, n);
        if (n == 4) {
            uint32_t w = (uint32_t)bits;
            float f;
            memcpy(&f, &w, 4);
            v->real = f;
        } else {
            memcpy(&v->real, &bits, 8);
        }
        return v;
    }
    case 0x4:
    case 0x5:
    case 0x6: {
        if (!bplist_count(b, off, &count, &start))
            return bplist_fail(b, "a malformed length");
        if (count > b->len || start + (kind == 0x6 ? count * 2 : count) > b->table)
            return bplist_fail(b, "a string or data object runs past the object table");
        if (kind == 0x5 && has_high_byte(b->buf + start, (size_t)count))
            return bplist_fail(b, "an ASCII string with a byte above 127");
        struct plist *v = plist_new(b->arena, kind == 0x4 ? PLIST_DATA : PLIST_STRING);
        size_t len = (size_t)count;
        if (kind == 0x4)
            v->data = (const uint8_t *)arena_strndup(b->arena, (const char *)b->buf + start, len);
        else if (kind == 0x5)
            v->string = arena_strndup(b->arena, (const char *)b->buf + start, len);
        else
            v->string = utf16be_to_utf8(b->arena, b->buf + start, count, &len);
        v->count = len;
        return v;
    }
    case 0xA:
    case 0xC:
    case 0xD:
        if (!bplist_count(b, off, &count, &start))
            return bplist_fail(b, "a malformed length");
        return bplist_container(b, kind, count, start, depth);
    default:
        return bplist_fail(b, "an unknown object type");
    }
}

/* Parses object number ref.  Returns it (shared when referenced twice), or NULL. */
static struct plist *bplist_object(struct bplist *b, uint64_t ref, int depth)
{
    if (ref >= b->objects)
        return bplist_fail(b, "an object reference out of range");
    if (b->done[ref])
        return b->done[ref];
    if (b->visiting[ref])
        return bplist_fail(b, "an object contains itself (a reference cycle)");
    if (depth > PLIST_MAX_DEPTH)
        return bplist_fail(b, "nested more than 256 levels deep");
    uint64_t off = read_be(b->buf + b->table + ref * b->offset_size, b->offset_size);
    if (off < 8 || off >= b->table)
        return bplist_fail(b, "an object offset outside the object area");
    b->visiting[ref] = 1;
    b->done[ref] = bplist_value(b, off, depth);
    b->visiting[ref] = 0;
    return b->done[ref];
}

/* Parses a binary plist.  Returns the root, or NULL with *err set (EX_DATAERR). */
static struct plist *plist_parse_binary(const uint8_t *buf, size_t len, struct arena *a,
                                        struct error *err)
{
    struct bplist b = {.buf = buf, .len = len, .arena = a, .err = err};
    if (len < 8 + 1 + 32 || memcmp(buf, "bplist00", 8) != 0)
        return bplist_fail(&b, "too short, or not a bplist00 file");
    const uint8_t *t = buf + len - 32;
    b.offset_size = t[6];
    b.ref_size = t[7];
    b.objects = read_be(t + 8, 8);
    uint64_t top = read_be(t + 16, 8);
    b.table = read_be(t + 24, 8);
    if (b.offset_size < 1 || b.offset_size > 8 || b.ref_size < 1 || b.ref_size > 8 ||
        b.objects == 0 || top >= b.objects || b.table < 9 || b.table >= len - 32 ||
        b.objects > (len - 32 - b.table) / b.offset_size)
        return bplist_fail(&b, "a trailer that does not describe this file");
    b.done = xcalloc((size_t)b.objects, sizeof *b.done);
    b.visiting = xcalloc((size_t)b.objects, 1);
    struct plist *root = bplist_object(&b, top, 0);
    free(b.done);
    free(b.visiting);
    return root;
}

/* Parses a plist of either form.  Returns the root, or NULL with *err set. */
static struct plist *plist_parse(const char *buf, size_t len, struct arena *a, struct error *err)
{
    if (len == 0)
        return fail(err, EX_DATAERR, "empty (0 bytes), not a property list"), NULL;
    if (len >= 8 && memcmp(buf, "bplist", 6) == 0)
        return plist_parse_binary((const uint8_t *)buf, len, a, err);
    return plist_parse_xml(buf, len, a, err, NULL);
}

/* Reads and parses the plist file at path (at most max bytes).
 * Returns the root, or NULL with *err naming what is wrong. */
static struct plist *plist_read_file(const char *path, size_t max, struct arena *a, struct error *err)
{
    char *data;
    size_t len;
    if (read_file(path, max, &data, &len, err) != 0)
        return NULL;
    struct plist *root = plist_parse(data, len, a, err);
    free(data);
    return root;
}

/* --- The XML writer (Config.plist): dicts of strings, integers and bools --- */

static void xml_escaped(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': buf_puts(b, "&lt;"); break;
        case '>': buf_puts(b, "&gt;"); break;
        case '&': buf_puts(b, "&amp;"); break;
        default: buf_add(b, s, 1);
        }
    }
}

/* Appends a complete XML plist document, as plutil would write it, for a
 * flat dict of strings, integers and bools: all that Config.plist holds. */
static void plist_write_xml(struct buf *b, const struct plist *dict)
{
    buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                "<plist version=\"1.0\">\n");
    buf_puts(b, dict->count ? "<dict>\n" : "<dict/>\n");
    for (size_t i = 0; i < dict->count; i++) {
        const struct plist *v = dict->items[i];
        buf_puts(b, "\t<key>");
        xml_escaped(b, dict->keys[i]);
        buf_puts(b, "</key>\n\t");
        if (v->type == PLIST_STRING) {
            buf_puts(b, "<string>");
            xml_escaped(b, v->string);
            buf_puts(b, "</string>\n");
        } else if (v->type == PLIST_INTEGER) {
            buf_printf(b, "<integer>%" PRIu64 "</integer>\n", v->magnitude);
        } else {
            buf_puts(b, v->boolean ? "<true/>\n" : "<false/>\n");
        }
    }
    if (dict->count)
        buf_puts(b, "</dict>\n");
    buf_puts(b, "</plist>\n");
}

/* Builders for the writer: add a member to a dict made with plist_new.  Returns the new value. */
static struct plist *plist_dict_add(struct arena *a, struct plist *dict, const char *key, enum plist_type type)
{
    struct plist *v = plist_new(a, type);
    plist_append(a, dict, key, v);
    return v;
}

static void plist_add_string(struct arena *a, struct plist *dict, const char *key, const char *s)
{
    struct plist *v = plist_dict_add(a, dict, key, PLIST_STRING);
    v->string = arena_strndup(a, s, strlen(s));
    v->count = strlen(s);
}

static void plist_add_uint(struct arena *a, struct plist *dict, const char *key, uint64_t n)
{
    plist_dict_add(a, dict, key, PLIST_INTEGER)->magnitude = n;
}

static void plist_add_bool(struct arena *a, struct plist *dict, const char *key, bool value)
{
    plist_dict_add(a, dict, key, PLIST_BOOL)->boolean = value;
}

/* ============================ C. JSON input ============================= */

/* A JSON reader into the plist tree, for run.json and unified-log lines.  With
 * a list of wanted keys it keeps only those members of the top-level object
 * and skips the rest without building them: a log line costs one pass and no
 * tree beyond the fields macvm reads.  null becomes a PLIST_NULL node. */
struct json_parser {
    const char *p, *end;
    struct arena *arena;
    const char *const *wanted;
};

static struct plist json_skipped;   /* what a value not kept returns */

static void json_space(struct json_parser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* Skips white space, then c when it comes next.  Returns whether it did. */
static bool json_eat(struct json_parser *j, char c)
{
    json_space(j);
    if (j->p >= j->end || *j->p != c)
        return false;
    j->p++;
    return true;
}

/* Returns the value of 4 hex digits at p, or -1. */
static long hex4(const char *p, const char *end)
{
    if (end - p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)p[i];
        int d = isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Returns the first byte in [p, end) that ends a stretch of a JSON string:
 * a quote, a backslash or a control character (which a string may not
 * hold); end when there is none.  Eight bytes at a time, since a log line is
 * mostly long strings. */
static const char *json_string_stop(const char *p, const char *end)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    for (; end - p >= 8; p += 8) {
        uint64_t w, q, b;
        memcpy(&w, p, 8);
        q = w ^ ('"' * ones);
        b = w ^ ('\\' * ones);
        /* a zero byte in q or b, or a byte of w below 0x20 (bytes of 0x80 and up never count) */
        if ((((q - ones) & ~q) | ((b - ones) & ~b) | ((w - 0x20 * ones) & ~w)) & highs)
            break;
    }
    while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
        p++;
    return p;
}

/* Reads a JSON string at j->p (the opening quote).  With out, decodes it
 * there; without, only skips it.  Returns false when malformed. */
static bool json_read_string(struct json_parser *j, struct buf *out)
{
    j->p++;
    /* From escape to escape (a log line is mostly long plain strings). */
    for (;;) {
        const char *stop = json_string_stop(j->p, j->end);
        if (stop == j->end || (unsigned char)*stop < 0x20 || (*stop == '\\' && j->end - stop < 2))
            return false;
        if (out && stop > j->p)
            buf_add(out, j->p, (size_t)(stop - j->p));
        if (*stop == '"') {
            j->p = stop + 1;
            return true;
        }
        char c = stop[1], lit = 0;
        j->p = stop + 2;
        switch (c) {
        case '"': case '\\': case '/': lit = c; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u': {
            long u = hex4(j->p, j->end);
            if (u < 0)
                return false;
            j->p += 4;
            if (u >= 0xD800 && u <= 0xDBFF && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                long v = hex4(j->p + 2, j->end);
                if (v >= 0xDC00 && v <= 0xDFFF) {
                    u = 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00);
                    j->p += 6;
                }
            }
            if (u >= 0xD800 && u <= 0xDFFF)
                u = 0xFFFD;
            if (out)
                utf8_put(out, (uint32_t)u);
            continue;
        }
        default:
            return false;
        }
        if (out)
            buf_add(out, &lit, 1);
    }
}

static bool json_wanted(struct json_parser *j, const char *key, size_t n)
{
    if (!j->wanted)
        return true;
    for (const char *const *w = j->wanted; *w; w++)
        if ((*w)[0] == key[0] && strlen(*w) == n && memcmp(*w, key, n) == 0)
            return true;
    return false;
}

/* Returns the length of the string at j->p (its opening quote) when it holds
 * no escape and no control character, else SIZE_MAX. */
static size_t json_plain_string(const struct json_parser *j)
{
    const char *s = j->p + 1, *stop = json_string_stop(s, j->end);
    return stop < j->end && *stop == '"' ? (size_t)(stop - s) : SIZE_MAX;
}

/* Reads the string at j->p (its opening quote), whose length is plain when
 * it holds no escape (json_plain_string), else SIZE_MAX.  Returns it in the
 * arena (its length in *len), or "" when not kept, or NULL when malformed. */
static const char *json_text(struct json_parser *j, bool keep, size_t plain, size_t *len)
{
    if (plain != SIZE_MAX) {   /* no escapes: straight into the arena */
        const char *s = arena_strndup(j->arena, j->p + 1, plain);
        j->p += plain + 2;
        *len = plain;
        return s;
    }
    struct buf b = {0};
    const char *s = json_read_string(j, keep ? &b : NULL) ? "" : NULL;
    if (s && keep)
        s = arena_strndup(j->arena, b.data ? b.data : "", b.len);
    *len = b.len;
    buf_free(&b);
    return s;
}

static struct plist *json_value(struct json_parser *j, int depth, bool keep);

/* Skips the digits at j->p.  Returns how many there were. */
static size_t json_digits(struct json_parser *j)
{
    const char *start = j->p;
    while (j->p < j->end && isdigit((unsigned char)*j->p))
        j->p++;
    return (size_t)(j->p - start);
}

/* Moves past a number as JSON spells it: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?
 * Returns false when there is none; *is_real when it has a fraction or exponent. */
static bool json_number(struct json_parser *j, bool *is_real)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    const char *int_start = j->p;
    size_t n = json_digits(j);
    if (n == 0 || (n > 1 && *int_start == '0'))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        *is_real = true;
        if (json_digits(j) == 0)
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        *is_real = true;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (json_digits(j) == 0)
            return false;
    }
    return true;
}

/* Parses an object or array at j->p.  Returns the node (or &json_skipped
 * when not kept), or NULL when malformed. */
static struct plist *json_container(struct json_parser *j, int depth, bool keep)
{
    bool object = *j->p++ == '{';
    char close = object ? '}' : ']';
    struct plist *node = keep ? plist_new(j->arena, object ? PLIST_DICT : PLIST_ARRAY) : &json_skipped;
    if (json_eat(j, close))
        return node;
    for (;;) {
        const char *key = NULL;
        bool keep_member = keep;
        if (object) {
            json_space(j);
            if (j->p >= j->end || *j->p != '"')
                return NULL;
            /* A plain key, the usual one, is judged where it lies and copied only when kept:
             * a log line has some 25 keys and macvm wants 6. */
            size_t n = keep ? json_plain_string(j) : SIZE_MAX;
            bool plain = n != SIZE_MAX;
            if (plain && depth == 0 && !json_wanted(j, j->p + 1, n)) {
                keep_member = false;
                j->p += n + 2;
            } else if (!(key = json_text(j, keep, n, &n))) {
                return NULL;
            } else {
                keep_member = keep && (depth > 0 || plain || json_wanted(j, key, n));
            }
            if (!json_eat(j, ':'))
                return NULL;
        }
        struct plist *v = json_value(j, depth + 1, keep_member);
        if (!v)
            return NULL;
        if (keep_member)
            plist_append(j->arena, node, key, v);
        if (!json_eat(j, ','))
            return json_eat(j, close) ? node : NULL;
    }
}

/* Parses one JSON value.  Returns it, &json_skipped for a value not kept,
 * or NULL when malformed. */
static struct plist *json_value(struct json_parser *j, int depth, bool keep)
{
    json_space(j);
    if (j->p >= j->end || depth > PLIST_MAX_DEPTH)
        return NULL;
    char c = *j->p;
    if (c == '{' || c == '[')
        return json_container(j, depth, keep);
    if (c == '"') {
        size_t n;
        const char *s = json_text(j, keep, keep ? json_plain_string(j) : SIZE_MAX, &n);
        if (!s || !keep)
            return s ? &json_skipped : NULL;
        struct plist *v = plist_new(j->arena, PLIST_STRING);
        v->string = s;
        v->count = n;
        return v;
    }
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3 && strchr("tfn", c); i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(j->end - j->p) >= n && memcmp(j->p, words[i], n) == 0) {
            j->p += n;
            if (!keep)
                return &json_skipped;
            struct plist *v = plist_new(j->arena, i == 2 ? PLIST_NULL : PLIST_BOOL);
            v->boolean = i == 0;
            return v;
        }
    }
    const char *start = j->p;
    bool is_real = false;
    if (!json_number(j, &is_real))
        return NULL;
    if (!keep)
        return &json_skipped;
    const char *num = arena_strndup(j->arena, start, (size_t)(j->p - start));   /* whole, however long */
    struct plist *v = plist_new(j->arena, is_real ? PLIST_REAL : PLIST_INTEGER);
    if (is_real || !parse_plist_integer(num, v)) {
        v->type = PLIST_REAL;
        v->real = strtod(num, NULL);
    }
    return v;
}

/* Parses a JSON document (keeping only the wanted top-level keys, when given).
 * Returns the root, or NULL when malformed. */
static struct plist *json_parse(const char *buf, size_t len, struct arena *a,
                                const char *const *wanted)
{
    struct json_parser j = {buf, buf + len, a, wanted};
    struct plist *root = json_value(&j, 0, true);
    json_space(&j);
    return j.p == j.end ? root : NULL;
}

/* =========================== D. Zip archives ============================ */

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* Reads exactly n bytes at off.  Returns 0, or EX_DATAERR when the file ends first. */
static int zip_read(struct zip *z, void *buf, size_t n, uint64_t off, const char *what,
                    struct error *e)
{
    if (off > z->size || n > z->size - off)
        return fail(e, EX_DATAERR, "the %s lies outside the file (truncated download?)", what);
    ssize_t got = read_at(z->fd, buf, n, off);
    if (got < 0)
        return fail(e, EX_IOERR, "read error: %s", strerror(errno));
    if ((size_t)got < n)
        return fail(e, EX_DATAERR, "the file ends inside the %s (truncated download?)", what);
    z->bytes_read += n;
    return 0;
}

/* Finds the end-of-central-directory record in the file's last 64 KiB: the
 * one whose comment ends the file or, when bytes follow it (padding, a copy
 * that appended a byte), the last one whose comment fits in the file, as Go's
 * archive/zip and Python's zipfile find it.  Returns 0 with its offset in
 * *eocd, or EX_DATAERR. */
static int zip_find_eocd(struct zip *z, uint64_t *eocd, struct error *e)
{
    size_t tail = z->size < 65535 + ZIP_EOCD_SIZE ? (size_t)z->size : 65535 + ZIP_EOCD_SIZE;
    if (tail < ZIP_EOCD_SIZE)
        return fail(e, EX_DATAERR, "not a zip archive (too short to be a restore image)");
    uint8_t *buf = xmalloc(tail);
    int rc = zip_read(z, buf, tail, z->size - tail, "end of the archive", e);
    size_t fits = SIZE_MAX;
    bool cut_comment = false;
    for (size_t i = tail - ZIP_EOCD_SIZE + 1; rc == 0 && i-- > 0;) {
        if (le32(buf + i) != 0x06054b50)
            continue;
        size_t end = i + ZIP_EOCD_SIZE + le16(buf + i + 20);
        if (end == tail) {
            fits = i;
            break;
        }
        if (end < tail && fits == SIZE_MAX)
            fits = i;
        cut_comment |= end > tail;
    }
    free(buf);
    if (rc)
        return rc;
    if (fits != SIZE_MAX) {
        *eocd = z->size - tail + fits;
        return 0;
    }
    if (cut_comment)
        return fail(e, EX_DATAERR, "the end record's comment runs past the end of the file (truncated download?)");
    return fail(e, EX_DATAERR, "not a zip archive (no end-of-central-directory record in its last 64 KiB; "
                               "truncated download?)");
}

/* Returns whether the 4-byte signature sig lies at off. */
static bool zip_signature_at(struct zip *z, uint64_t off, uint32_t sig)
{
    uint8_t b[4];
    struct error ignored = {0};
    return zip_read(z, b, 4, off, "record", &ignored) == 0 && le32(b) == sig;
}

/* Refuses an archive found `shift` bytes later than its own offsets say:
 * something was put in front of it (a self-extractor's stub). */
static int zip_prepended(struct error *e, uint64_t shift)
{
    return fail(e, EX_DATAERR, "%" PRIu64 " bytes come before the archive (a self-extractor?); macvm reads "
                "restore images as Apple ships them", shift);
}

/* Reads the Zip64 end locator just before the classic end record and, when
 * it is there, the Zip64 end record it points at, whose values replace the
 * classic ones.  Without a locator the classic values stand as written, even
 * one at its maximum (65,535 entries, a directory at 0xFFFFFFFF), as Go and
 * Python read them.  Returns 0, or EX_DATAERR when the Zip64 records are
 * inconsistent. */
static int zip_read_zip64_end(struct zip *z, uint64_t eocd, uint64_t *end_of_cd, struct error *e)
{
    uint8_t loc[ZIP64_LOCATOR_SIZE], rec[ZIP64_EOCD_SIZE];
    if (eocd < ZIP64_LOCATOR_SIZE)
        return 0;
    int rc = zip_read(z, loc, sizeof loc, eocd - ZIP64_LOCATOR_SIZE, "Zip64 end locator", e);
    if (rc || le32(loc) != 0x07064b50)
        return rc;
    uint64_t off = le64(loc + 8);
    if (off > eocd - ZIP64_LOCATOR_SIZE || eocd - ZIP64_LOCATOR_SIZE - off < ZIP64_EOCD_SIZE)
        return fail(e, EX_DATAERR, "the Zip64 end record lies outside the file");
    if ((rc = zip_read(z, rec, sizeof rec, off, "Zip64 end record", e)))
        return rc;
    if (le32(rec) != 0x06064b50) {
        uint64_t usual = eocd - ZIP64_LOCATOR_SIZE - ZIP64_EOCD_SIZE;   /* where writers put it */
        if (usual > off && zip_signature_at(z, usual, 0x06064b50))
            return zip_prepended(e, usual - off);
        return fail(e, EX_DATAERR, "the Zip64 end locator points at no Zip64 end record");
    }
    z->entries = le64(rec + 32);
    z->cd_size = le64(rec + 40);
    z->cd_offset = le64(rec + 48);
    *end_of_cd = off;
    return 0;
}

/* Opens an archive and reads its central directory.  Returns 0, EX_NOINPUT
 * (missing, unreadable, not a file) or EX_DATAERR (not a valid archive). */
static int zip_open(struct zip *z, const char *path, struct error *e)
{
    *z = (struct zip){.fd = -1};
    struct stat st;
    z->fd = open_regular_stat(path, &st, e);
    if (z->fd < 0)
        return e->code;
    z->size = (uint64_t)st.st_size;
    if (z->size == 0)
        return fail(e, EX_DATAERR, "empty (0 bytes), not a restore image");
    uint64_t eocd = 0, end_of_cd;
    uint8_t rec[ZIP_EOCD_SIZE];
    int rc = zip_find_eocd(z, &eocd, e);
    if (rc || (rc = zip_read(z, rec, sizeof rec, eocd, "end record", e)))
        return rc;
    z->entries = le16(rec + 10);
    z->cd_size = le32(rec + 12);
    z->cd_offset = le32(rec + 16);
    end_of_cd = eocd;
    if ((rc = zip_read_zip64_end(z, eocd, &end_of_cd, e)))
        return rc;
    if (z->cd_offset > end_of_cd || z->cd_size > end_of_cd - z->cd_offset)
        return fail(e, EX_DATAERR, "the central directory lies outside the file (truncated download?)");
    if (z->cd_size > ZIP_MAX_CENTRAL_DIRECTORY)
        return fail(e, EX_DATAERR, "a central directory of %" PRIu64 " bytes, more than a restore image has",
                    z->cd_size);
    z->cd = xmalloc((size_t)z->cd_size);
    if ((rc = zip_read(z, z->cd, (size_t)z->cd_size, z->cd_offset, "central directory", e)))
        return rc;
    /* A directory that is not where the end record says but right before the
     * end record: every offset is short by what was put in front of the archive. */
    uint64_t usual = end_of_cd - z->cd_size;
    if (z->cd_size >= 4 && le32(z->cd) != 0x02014b50 && usual > z->cd_offset &&
        zip_signature_at(z, usual, 0x02014b50))
        return zip_prepended(e, usual - z->cd_offset);
    return 0;
}

static void zip_close(struct zip *z)
{
    if (z->fd >= 0)
        close(z->fd);
    free(z->cd);
    z->fd = -1;
    z->cd = NULL;
}

/* Replaces the central directory's 32-bit values that are 0xFFFFFFFF with
 * the 64-bit ones of the Zip64 extra field, which holds only those, in the
 * specification's order: uncompressed size, compressed size, local-header
 * offset.  Without the field, or when it ends before a value, the 32-bit
 * value is taken literally: Info-ZIP and libarchive write an entry of exactly
 * 4,294,967,295 bytes, or a local header at that offset, that way, and Go and
 * Python read it so.  A wrong literal value cannot slip through: the local
 * header's signature, the data's bounds, its length and its CRC are checked. */
static void zip_apply_zip64_extra(const uint8_t *extra, size_t len, struct zip_entry *ent)
{
    uint64_t *fields[] = {&ent->uncompressed, &ent->compressed, &ent->local_offset};
    for (size_t i = 0; i + 4 <= len;) {
        uint16_t id = le16(extra + i), size = le16(extra + i + 2);
        if (i + 4 + size > len)
            return;
        if (id == 0x0001) {
            const uint8_t *p = extra + i + 4, *end = p + size;
            for (size_t f = 0; f < sizeof fields / sizeof *fields && end - p >= 8; f++) {
                if (*fields[f] != 0xFFFFFFFF)
                    continue;
                *fields[f] = le64(p);
                p += 8;
            }
            return;
        }
        i += 4 + (size_t)size;
    }
}

/* Reads the central-directory record at *pos into *ent and advances *pos.
 * Returns 0, or EX_DATAERR for a malformed record. */
static int zip_next(struct zip *z, size_t *pos, struct zip_entry *ent, struct error *e)
{
    const uint8_t *p = z->cd + *pos;
    size_t left = (size_t)z->cd_size - *pos;
    if (left < 46 || le32(p) != 0x02014b50)
        return fail(e, EX_DATAERR, "a damaged central directory (record %zu)", *pos);
    size_t name_len = le16(p + 28), extra_len = le16(p + 30), comment_len = le16(p + 32);
    if (46 + name_len + extra_len + comment_len > left)
        return fail(e, EX_DATAERR, "a central directory record runs past its end");
    *ent = (struct zip_entry){
        .name = (const char *)p + 46, .name_len = name_len,
        .flags = le16(p + 8), .method = le16(p + 10), .crc = le32(p + 16),
        .compressed = le32(p + 20), .uncompressed = le32(p + 24), .local_offset = le32(p + 42),
    };
    zip_apply_zip64_extra(p + 46 + name_len, extra_len, ent);
    *pos += 46 + name_len + extra_len + comment_len;
    return 0;
}

/* Looks up the entry named name (exact, at the root).  Also counts all
 * entries into z->entries.  Returns 0 (found or not: *found), or EX_DATAERR. */
static int zip_find(struct zip *z, const char *name, struct zip_entry *out, bool *found,
                    struct error *e)
{
    size_t pos = 0, n = 0, want = strlen(name);
    *found = false;
    while (pos < z->cd_size) {
        struct zip_entry ent;
        int rc = zip_next(z, &pos, &ent, e);
        if (rc)
            return rc;
        n++;
        if (!*found && ent.name_len == want && memcmp(ent.name, name, want) == 0) {
            *out = ent;
            *found = true;
        }
    }
    if (n != z->entries)
        return fail(e, EX_DATAERR, "the end record counts %" PRIu64 " entries, the central directory %zu",
                    z->entries, n);
    return 0;
}

/* Reads an entry's data, inflating it when deflated, and checks its CRC.
 * Refuses entries larger than max (a decompression bomb is refused before any
 * inflating, and one that lies about its size is stopped when it passes it).
 * Returns 0 with a malloc'd buffer, or EX_DATAERR. */
static int zip_extract(struct zip *z, const struct zip_entry *ent, size_t max, char **out,
                       size_t *out_len, struct error *e)
{
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(ent->name_len < 255 ? ent->name_len : 255), ent->name);
    if (ent->flags & 1)
        return fail(e, EX_DATAERR, "%s is encrypted", name);
    if (ent->method != 0 && ent->method != 8)
        return fail(e, EX_DATAERR, "%s uses compression method %u (only stored and deflated are used)",
                    name, ent->method);
    if (ent->uncompressed > max)
        return fail(e, EX_DATAERR, "%s claims %" PRIu64 " bytes, more than the %zu it can be "
                    "(a decompression bomb?)", name, ent->uncompressed, max);
    uint8_t local[30];
    int rc = zip_read(z, local, sizeof local, ent->local_offset, "local header", e);
    if (rc)
        return rc;
    if (le32(local) != 0x04034b50)
        return fail(e, EX_DATAERR, "%s: the central directory points at no local header", name);
    uint64_t data = ent->local_offset + 30 + le16(local + 26) + le16(local + 28);
    if (data > z->cd_offset || ent->compressed > z->cd_offset - data)
        return fail(e, EX_DATAERR, "%s runs past the end of the file's data (truncated download?)", name);
    if (ent->method == 0 && ent->compressed != ent->uncompressed)
        return fail(e, EX_DATAERR, "%s is stored but its two sizes differ", name);

    char *result = xmalloc((size_t)ent->uncompressed + 1);
    size_t produced = 0;
    uint8_t chunk[1 << 16];
    z_stream zs = {0};
    if (ent->method == 8 && inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
        free(result);
        return fail(e, EX_SOFTWARE, "zlib failed to start");
    }
    int zrc = Z_OK;
    for (uint64_t done = 0; done < ent->compressed && rc == 0 && zrc != Z_STREAM_END;) {
        size_t n = ent->compressed - done < sizeof chunk ? (size_t)(ent->compressed - done) : sizeof chunk;
        if ((rc = zip_read(z, chunk, n, data + done, "entry data", e)))
            break;
        done += n;
        if (ent->method == 0) {
            memcpy(result + produced, chunk, n);
            produced += n;
            continue;
        }
        zs.next_in = chunk;
        zs.avail_in = (uInt)n;
        while (zs.avail_in > 0 && zrc == Z_OK) {
            /* room for one byte more than declared (result has it, for the NUL): a lie shows there */
            size_t room = (size_t)ent->uncompressed + 1 - produced;
            zs.next_out = (uint8_t *)result + produced;
            zs.avail_out = (uInt)(room > (1u << 30) ? 1u << 30 : room);
            uInt before = zs.avail_out;
            zrc = inflate(&zs, Z_NO_FLUSH);
            produced += before - zs.avail_out;
            if (produced > ent->uncompressed) {
                rc = fail(e, EX_DATAERR, "%s inflates to more than its declared %" PRIu64 " bytes "
                          "(a decompression bomb?)", name, ent->uncompressed);
                break;
            }
            if (zrc == Z_BUF_ERROR && zs.avail_in > 0)
                zrc = Z_OK;   /* output room was exhausted; loop gives more */
        }
        if (rc == 0 && zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR)
            rc = fail(e, EX_DATAERR, "%s is not valid deflate data", name);
    }
    if (ent->method == 8)
        inflateEnd(&zs);
    if (rc == 0 && ent->method == 8 && zrc != Z_STREAM_END)
        rc = fail(e, EX_DATAERR, "%s: the deflate stream ends early", name);
    if (rc == 0 && produced != ent->uncompressed)
        rc = fail(e, EX_DATAERR, "%s is %zu bytes, not the declared %" PRIu64, name, produced,
                  ent->uncompressed);
    if (rc == 0 && crc32(0L, (const Bytef *)result, (uInt)produced) != ent->crc)
        rc = fail(e, EX_DATAERR, "%s fails its CRC check (a damaged download?)", name);
    if (rc) {
        free(result);
        return rc;
    }
    result[produced] = 0;
    *out = result;
    *out_len = produced;
    return 0;
}

/* =========================== E. Bridge stubs ============================ */

/* Where Virtualization.framework does not exist, the bridge says so.  The
 * tests replace these with tests/fake_bridge.c (MACVM_EXTERNAL_BRIDGE). */
#if !defined(__APPLE__) && !defined(MACVM_EXTERNAL_BRIDGE)
static int unavailable(struct bridge_error *err)
{
    if (err) {
        snprintf(err->domain, sizeof err->domain, "macvm");
        err->code = 0;
        snprintf(err->message, sizeof err->message, "Virtualization.framework is not on this host");
    }
    return BRIDGE_UNAVAILABLE;
}

int bridge_host_info(struct host_info *info)
{
    *info = (struct host_info){0};
    return BRIDGE_UNAVAILABLE;
}

bool bridge_has(const char *class_name, const char *selector)
{
    (void)class_name, (void)selector;
    return false;
}

int bridge_check_configuration(const struct vm_spec *spec, bool *save_supported, struct bridge_error *err,
                               struct bridge_error *save_err)
{
    (void)spec, (void)save_err;
    *save_supported = false;
    return unavailable(err);
}

int bridge_latest_image_url(char *url, size_t size, struct bridge_error *err)
{
    (void)url, (void)size;
    return unavailable(err);
}

int bridge_download(const char *url, const char *dest, const char *resume, bridge_progress_fn progress,
                    void *ctx, struct bridge_error *err)
{
    (void)url, (void)dest, (void)resume, (void)progress, (void)ctx;
    return unavailable(err);
}

int bridge_load_restore_image(const char *path, struct restore_image_info *info, struct bridge_error *err)
{
    (void)path, (void)info;
    return unavailable(err);
}

int bridge_install(const struct install_spec *spec, bridge_progress_fn progress, void *ctx,
                   struct bridge_error *err)
{
    (void)spec, (void)progress, (void)ctx;
    return unavailable(err);
}

int bridge_run(const struct vm_spec *spec, struct run_outcome *outcome)
{
    (void)spec;
    return unavailable(&outcome->error);
}

int bridge_clone_identity(const char *machine_identifier, struct bridge_error *err)
{
    (void)machine_identifier;
    return unavailable(err);
}
#endif
