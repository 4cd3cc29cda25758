/* test_install.c -- `macvm install` through the fake bridge (build/macvm-fake),
 * and the Linux build's refusal.
 *
 * Contract under test (issue acceptance item "Install via the fake bridge"):
 *   - `install --ipsw IMAGE --disk-size 80G NEW` makes NEW with a sparse
 *     Disk.img of exactly 80 GiB, the identity files, and an XML Config.plist
 *     with InstallCompleted true, the installed version/build/image and a
 *     MACAddress; `info --json` then says installed.completed true; the bridge
 *     was called once, call=install, with no debug stub and a normal start.
 *   - Refused before anything is created: an existing path (73, untouched), a
 *     nonsense --disk-size (64), a non-VM image (65), too few CPUs for the image
 *     (64), a host older than the image needs (69), an image no hardware model
 *     of which runs here (69), the Linux build (69).
 *   - A failed or interrupted install leaves the bundle marked
 *     InstallCompleted false, says how to retry, exits non-zero (130 when
 *     interrupted), and `run` refuses the bundle (65).
 *   - --latest downloads into $HOME/Library/Caches/macvm/ and reuses a finished
 *     download.
 * The fake bridge copies HardwareModel/MachineIdentifier from
 * tests/fixtures/plist (relative to the repository root, where tests run).
 *
 * What the image needs comes from Virtualization when it says (the fake says
 * nothing unless MACVM_FAKE_MIN_CPUS/MACVM_FAKE_MIN_MEMORY are set), else
 * from the image's manifest (virtualization_minimums_outrank_the_manifest).
 *
 * CPU counts: most tests pass --cpus 2 so that what they check does not depend
 * on the test machine's cores (default_cpus_and_memory_give_way_to_the_image
 * covers the default).
 */
#include "test_vm_common.c"

#define VT_IPSW_14 "tests/fixtures/ipsw/macOS-14.5-vm.ipsw"
#define VT_IPSW_15 "tests/fixtures/ipsw/macOS-15.0-vm-stored.ipsw"
#define VT_IPSW_IOS "tests/fixtures/ipsw/iOS-not-vm.ipsw"

/* Reads NEW/Config.plist (asserts it is an XML plist dict).  Arena-owned. */
static const struct plist *vt_config(const char *bundle)
{
    char *path = t_path_join(bundle, "Config.plist");
    size_t n;
    char *text = (char *)t_read_file(path, &n);
    cr_expect(strncmp(text, "<?xml", 5) == 0, "Config.plist should be XML: %.200s", text);
    free(text);
    struct error e = {0};
    const struct plist *root = plist_read_file(path, 1 << 20, &vt_arena, &e);
    cr_assert(root && root->type == PLIST_DICT, "%s: not a plist dict: %s", path, e.text);
    free(path);
    return root;
}

static void vt_plist_str(const struct plist *c, const char *key, const char *want)
{
    const char *s = plist_string(c, key);
    cr_expect(s && strcmp(s, want) == 0, "Config.plist %s: \"%s\", want \"%s\"", key, s ? s : "(none)", want);
}

static void vt_plist_uint(const struct plist *c, const char *key, uint64_t want)
{
    uint64_t n = 0;
    cr_expect(plist_uint(c, key, UINT64_MAX, &n) && n == want, "Config.plist %s: %llu, want %llu", key,
              (unsigned long long)n, (unsigned long long)want);
}

static void vt_plist_completed(const struct plist *c, bool want)
{
    const struct plist *v = plist_get(c, "InstallCompleted");
    cr_expect(v && v->type == PLIST_BOOL && v->boolean == want, "Config.plist InstallCompleted should be %s",
              want ? "true" : "false");
}

/* Expects nothing at path, and the bridge not asked to install. */
static void vt_expect_nothing_created(const char *path, const char *spec, const char *what)
{
    cr_expect(!vt_exists(path), "%s: %s was created", what, path);
    struct vt_spec s;
    bool called = vt_spec_load(&s, spec);
    cr_expect(!called, "%s: the bridge was asked to %s", what, called ? vt_spec_get(&s, "call") : "");
    vt_spec_free(&s);
}

static char *vt_install_spec(void)
{
    char *path = t_path_join(t_tmp, "spec.txt");
    unlink(path);
    setenv("MACVM_FAKE_SPEC", path, 1);
    return path;
}

/* Runs install with the options after what (NULL-ended) and bundle b, and
 * expects it refused with code, naming needle, and nothing made at b. */
static void vt_install_refused(const char *spec, const char *b, int code, const char *needle, const char *what, ...)
{
    const char *argv[T_MAX_ARGS + 4] = {t_env_or("MACVM_FAKE_BIN", "build/macvm-fake"), "install"};
    int n = 2;
    va_list ap;
    va_start(ap, what);
    for (const char *a; (a = va_arg(ap, const char *)) && n < T_MAX_ARGS;)
        argv[n++] = a;
    va_end(ap);
    argv[n++] = b;
    argv[n] = NULL;
    struct proc_result r = run_argv(argv);
    vt_expect_refusal(&r, code, needle, what);
    vt_expect_nothing_created(b, spec, what);
    proc_result_free(&r);
}

Test(install, creates_the_bundle, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "New.bundle");
    struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_14, "--disk-size", "80G", "--cpus", "2", b, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.out, "installing macOS 14.5 (23F79)") != NULL, "stdout: %s", r.out);
    char want[4096];
    snprintf(want, sizeof want, "macvm run %s", b);
    cr_expect(strstr(r.out, want) != NULL, "stdout should say how to boot it: %s", r.out);
    proc_result_free(&r);

    /* Apple's layout */
    const char *files[] = {"Disk.img", "AuxiliaryStorage", "HardwareModel", "MachineIdentifier", "Config.plist"};
    for (int i = 0; i < 5; i++) {
        char *p = t_path_join(b, files[i]);
        cr_expect(vt_exists(p), "%s is missing", p);
        free(p);
    }
    char *disk = t_path_join(b, "Disk.img");
    cr_expect_eq(vt_size(disk), 80 * VT_GIB, "Disk.img should be exactly 80 GiB");
    cr_expect(vt_allocated(disk) <= 1 * VT_MIB, "Disk.img should be sparse, occupies %llu bytes",
              (unsigned long long)vt_allocated(disk));

    const struct plist *c = vt_config(b);
    vt_plist_completed(c, true);
    vt_plist_str(c, "InstalledProductVersion", "14.5");
    vt_plist_str(c, "InstalledBuild", "23F79");
    vt_plist_str(c, "InstalledFromIPSW", "macOS-14.5-vm.ipsw");
    vt_plist_uint(c, "CPUCount", 2);
    vt_plist_uint(c, "InstalledMinCPUCount", 2);
    vt_plist_uint(c, "InstalledMinMemorySize", 4 * VT_GIB);
    const char *mac = plist_string(c, "MACAddress");
    cr_assert(mac && valid_mac(mac), "MACAddress should be xx:xx:xx:xx:xx:xx: %s", mac ? mac : "(none)");
    unsigned first = (unsigned)strtoul(mac, NULL, 16);
    cr_expect((first & 3) == 2, "MACAddress %s should be locally administered and unicast", mac);

    /* what the bridge was asked */
    struct vt_spec s;
    cr_assert(vt_spec_load(&s, spec), "the bridge was not called");
    cr_expect_eq(s.calls, 1, "one bridge call, got %d", s.calls);
    cr_expect_str_eq(vt_spec_get(&s, "call"), "install");
    cr_expect_str_eq(vt_spec_get(&s, "restore_image"), VT_IPSW_14);
    cr_expect_str_eq(vt_spec_get(&s, "bundle"), b);
    cr_expect_str_eq(vt_spec_get(&s, "disk_image"), disk);
    cr_expect_str_eq(vt_spec_get(&s, "disk_exists"), "1", "Disk.img must exist before the bridge installs");
    cr_expect_str_eq(vt_spec_get(&s, "debug_stub"), "0", "never a debug stub during install");
    cr_expect_str_eq(vt_spec_get(&s, "start_mode"), "0", "install starts normally");
    cr_expect_str_eq(vt_spec_get(&s, "set_boot_args"), "0");
    cr_expect_str_eq(vt_spec_get(&s, "cpu_count"), "2");
    cr_expect_str_eq(vt_spec_get(&s, "memory_bytes"), "4294967296");
    cr_expect_str_eq(vt_spec_get(&s, "mac_address"), mac, "the install uses the recorded MAC address");
    vt_spec_free(&s);

    /* info agrees */
    r = run_fake("info", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "info --json after install");
    vt_json_bool(j, "installed.completed", true, r.out);
    vt_json_str(j, "installed.product_version", "14.5", r.out);
    vt_json_str(j, "installed.build", "23F79", r.out);
    vt_json_str(j, "installed.from", "macOS-14.5-vm.ipsw", r.out);
    vt_json_uint(j, "disk.logical_bytes", 80 * VT_GIB, r.out);
    vt_json_str(j, "config.mac_address", mac, r.out);
    vt_json_str(j, "hardware_model.minimum_supported_os", "13.0.0", r.out);
    vt_json_str(j, "machine_identifier.ecid", VT_ECID, r.out);
    cr_expect(vt_get(j, "problems") && vt_get(j, "problems")->count == 0, "no problems: %s", r.out);
    proc_result_free(&r);

    /* and it boots with what was recorded */
    r = run_fake("run", "--dry-run", "--json", b, NULL);
    j = vt_expect_json_ok(&r, "run --dry-run after install");
    vt_json_uint(j, "cpu_count", 2, r.out);
    vt_json_str(j, "mac_address", mac, r.out);
    proc_result_free(&r);
    free(disk);
    free(b);
    free(spec);
}

/* macOS 15.0 needs 4 CPUs and 8 GiB.  Installed with --cpus 4 and the default
 * memory (which gives way to the image's 8 GiB), the bundle must then run
 * without extra options. */
Test(install, then_run_uses_what_the_image_needs, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "Sequoia.bundle");
    struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_15, "--cpus", "4", b, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    proc_result_free(&r);
    struct vt_spec s;
    cr_assert(vt_spec_load(&s, spec));
    cr_expect_str_eq(vt_spec_get(&s, "memory_bytes"), "8589934592", "the install runs with the 8 GiB 15.0 needs");
    vt_spec_free(&s);
    const struct plist *c = vt_config(b);
    vt_plist_uint(c, "InstalledMinCPUCount", 4);
    vt_plist_uint(c, "InstalledMinMemorySize", 8 * VT_GIB);
    char *disk = t_path_join(b, "Disk.img");
    cr_expect_eq(vt_size(disk), 64 * VT_GIB, "the default disk is 64 GiB");
    free(disk);

    r = run_fake("run", "--dry-run", "--json", b, NULL);
    cr_expect_eq(r.status, 0, "a freshly installed 15.0 bundle should run as installed: exit %d; stderr: %s", r.status,
                 r.err);
    if (r.status == 0) {
        const struct plist *j = vt_json(r.out);
        vt_json_uint(j, "cpu_count", 4, r.out);
        vt_json_uint(j, "memory_bytes", 8 * VT_GIB, r.out);
    }
    proc_result_free(&r);
    free(b);
    free(spec);
}

/* Without --cpus: host cores - 1 (within the host's 1..8), giving way to
 * what the image needs (14.5: 2 CPUs, 4 GiB); nothing recorded in Config.plist,
 * and a run afterwards resolves the same values. */
/* Installs b from the 14.5 image with the default CPUs and memory and checks
 * that the install and a later run both get the host's default CPUs raised to
 * min_cpus, and memory bytes. */
static void vt_install_defaults(const char *spec, const char *b, unsigned min_cpus, uint64_t memory)
{
    unsigned cpus = vt_default_cpus(1, 8);
    if (cpus < min_cpus)
        cpus = min_cpus;
    struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_14, b, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    proc_result_free(&r);
    struct vt_spec s;
    cr_assert(vt_spec_load(&s, spec));
    char want[32];
    snprintf(want, sizeof want, "%u", cpus);
    cr_expect_str_eq(vt_spec_get(&s, "cpu_count"), want, "the install's CPUs, at least %u", min_cpus);
    snprintf(want, sizeof want, "%" PRIu64, memory);
    cr_expect_str_eq(vt_spec_get(&s, "memory_bytes"), want, "the install's memory");
    vt_spec_free(&s);
    r = run_fake("run", "--dry-run", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "run --dry-run after install");
    vt_json_uint(j, "cpu_count", cpus, r.out);
    vt_json_uint(j, "memory_bytes", memory, r.out);
    proc_result_free(&r);
}

Test(install, default_cpus_and_memory_give_way_to_the_image, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "New.bundle");
    vt_install_defaults(spec, b, 2, 4 * VT_GIB);
    const struct plist *c = vt_config(b);
    cr_expect(plist_get(c, "CPUCount") == NULL, "without --cpus Config.plist keeps the default");
    cr_expect(plist_get(c, "MemorySize") == NULL, "without --memory Config.plist keeps the default");
    free(b);
    free(spec);
}

/* A bundle whose name needs quoting for the shell: every command macvm
 * suggests for it (boot it, create it, another name) is one to paste as is. */
Test(install, the_commands_it_suggests_quote_the_bundle_path, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = t_path_join(t_tmp, "My VM.bundle");
    char want[4096];
    struct proc_result r = run_fake("info", b, NULL);
    snprintf(want, sizeof want, "macvm install '%s'", b);
    vt_expect_refusal(&r, EX_NOINPUT, want, "info of a missing bundle with a space");
    proc_result_free(&r);
    r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "2", b, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    snprintf(want, sizeof want, "macvm run '%s'\n", b);
    cr_expect(strstr(r.out, want) != NULL, "stdout should say how to boot it, quoted: %s", r.out);
    proc_result_free(&r);
    r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "2", b, NULL);
    snprintf(want, sizeof want, "macvm install '%s'-2", b);
    vt_expect_refusal(&r, EX_CANTCREAT, want, "install onto the bundle again");
    proc_result_free(&r);
    free(b);
}

/* While an install runs, its bundle is incomplete but not abandoned: run
 * and clone are told to wait (75, naming the installer) instead of being
 * told to remove it and install again, and info says it is being installed. */
Test(install, a_bundle_being_installed_is_busy_not_incomplete, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    setenv("MACVM_FAKE_INSTALL_SECONDS", "30", 1);
    char *b = t_path_join(t_tmp, "New.bundle"), *lock = t_path_join(b, ".macvm.lock");
    char *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    const char *argv[] = {vt_fake(), "install", "--ipsw", VT_IPSW_14, "--cpus", "2", b, NULL};
    pid_t pid = vt_spawn(argv, out, err, -1);
    bool installing = false;
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 2000 && !installing; i++) {   /* until the installer holds the bundle */
        size_t n;
        char *who = vt_exists(lock) ? (char *)t_read_file(lock, &n) : NULL;
        installing = who && strstr(who, "installing");
        free(who);
        nanosleep(&tick, NULL);
    }
    cr_assert(installing, "the install never took the bundle's lock");
    char want[64];
    snprintf(want, sizeof want, "macvm (PID %d) is installing it", (int)pid);
    struct proc_result r = run_fake("run", "--headless", b, NULL);
    vt_expect_refusal(&r, EX_TEMPFAIL, want, "a run during the install");
    cr_expect(strstr(r.err, "rm -r") == NULL, "never advise removing a bundle being installed: %s", r.err);
    proc_result_free(&r);
    char *copy = t_path_join(t_tmp, "Copy.bundle");
    r = run_fake("clone", b, copy, NULL);
    vt_expect_refusal(&r, EX_TEMPFAIL, want, "a clone during the install");
    proc_result_free(&r);
    r = run_fake("info", b, NULL);
    cr_expect(strstr(r.out, "being installed now") && !strstr(r.out, "INCOMPLETE"), "info: %s", r.out);
    proc_result_free(&r);
    r = run_fake("info", "--json", b, NULL);
    vt_json_uint(vt_json(r.out), "installed.installing_pid", (uint64_t)pid, r.out);
    proc_result_free(&r);
    kill(pid, SIGINT);   /* an interrupted install is incomplete: then it says so */
    cr_expect_eq(vt_wait(pid, NULL), 130, "the interrupted install's exit");
    r = run_fake("info", "--json", b, NULL);
    vt_json_null(vt_json(r.out), "installed.installing_pid", r.out);
    proc_result_free(&r);
    r = run_fake("run", "--headless", b, NULL);
    vt_expect_refusal(&r, EX_DATAERR, "did not complete", "a run after the install stopped");
    proc_result_free(&r);
    free(copy);
    free(err);
    free(out);
    free(lock);
    free(b);
}

Test(install, refuses_an_existing_path, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "Existing.bundle");
    vt_mkdir(b);
    char *keep = t_path_join(b, "keep.txt");
    vt_write_text(keep, "precious\n");
    char *before = vt_snapshot(b);
    struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "2", b, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, b, "existing folder");
    proc_result_free(&r);
    vt_expect_unchanged(b, before, "install into an existing folder");

    char *file = t_path_join(t_tmp, "file");
    vt_write_text(file, "a file\n");
    before = vt_snapshot(file);
    r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "2", file, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, file, "existing file");
    proc_result_free(&r);
    vt_expect_unchanged(file, before, "install onto an existing file");

    char *through_file = t_path_join(file, "VM.bundle");   /* a file where the bundle's folder belongs */
    before = vt_snapshot(file);
    r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "2", through_file, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, "not a folder", "a path through a file");
    cr_expect(strstr(r.err, "mkdir -p") == NULL, "mkdir -p cannot make a folder where a file is: %s", r.err);
    proc_result_free(&r);
    vt_expect_unchanged(file, before, "install through a file");
    free(through_file);

    char *link = t_path_join(t_tmp, "link");
    cr_assert_eq(symlink("nowhere", link), 0);
    r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "2", link, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, link, "dangling link");
    proc_result_free(&r);
    char *nowhere = t_path_join(t_tmp, "nowhere");
    cr_expect(!vt_exists(nowhere), "install followed the link");
    struct vt_spec s;
    cr_expect(!vt_spec_load(&s, spec), "the bridge must not be called");
    free(nowhere);
    free(link);
    free(file);
    free(keep);
    free(b);
    free(spec);
}

Test(install, nonsense_disk_size_is_refused, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "New.bundle");
    const char *bad[] = {"12X", "0G", "99999999999T", "9000000T", "abc", "", "80", "-80G", "512M", "80G80", "1.5T"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "2", "--disk-size", bad[i], b, NULL);
        char what[64];
        snprintf(what, sizeof what, "--disk-size '%s'", bad[i]);
        vt_expect_refusal(&r, EX_USAGE, "--disk-size", what);
        vt_expect_nothing_created(b, spec, what);
        proc_result_free(&r);
    }
    /* the units it accepts */
    struct {
        const char *size;
        uint64_t bytes;
    } good[] = {{"1T", 1ull << 40}, {"100GiB", 100 * VT_GIB}, {"2048M", 2 * VT_GIB}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char name[32];
        snprintf(name, sizeof name, "Good-%zu.bundle", i);
        char *g = t_path_join(t_tmp, name), *disk = t_path_join(g, "Disk.img");
        struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "2", "--disk-size", good[i].size, g,
                                        NULL);
        cr_expect_eq(r.status, 0, "--disk-size %s: exit %d; stderr: %s", good[i].size, r.status, r.err);
        if (r.status == 0)
            cr_expect_eq(vt_size(disk), good[i].bytes, "--disk-size %s", good[i].size);
        proc_result_free(&r);
        free(disk);
        free(g);
    }
    free(b);
    free(spec);
}

Test(install, refuses_an_image_that_is_not_for_vms, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "New.bundle");
    struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_IOS, "--cpus", "2", b, NULL);
    vt_expect_refusal(&r, EX_DATAERR, VT_IPSW_IOS, "iOS image");
    cr_expect(strstr(r.err, "17.5") != NULL, "stderr should say what the image is: %s", r.err);
    vt_expect_nothing_created(b, spec, "iOS image");
    proc_result_free(&r);

    /* and a missing image */
    vt_install_refused(spec, b, EX_NOINPUT, "no-such.ipsw", "missing image",
                       "--ipsw", "tests/fixtures/ipsw/no-such.ipsw", "--cpus", "2", NULL);
    free(b);
    free(spec);
}

/* Returns the absolute path of a fixture (free it): the command may run elsewhere. */
static char *vt_absolute(const char *fixture)
{
    char cwd[4096];
    cr_assert(getcwd(cwd, sizeof cwd));
    return t_path_join(cwd, fixture);
}

/* Makes the fake's bridge_download "download" fixture; returns its absolute path (free it). */
static char *vt_downloads(const char *fixture)
{
    char *source = vt_absolute(fixture);
    setenv("MACVM_FAKE_IPSW", source, 1);
    return source;
}

/* An image whose path is longer than the bridge's field for it is refused
 * by name before anything is made, never handed on cut short. */
Test(install, refuses_an_image_path_too_long_to_hold, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *dir = vt_deep_folder();
    char *source = vt_absolute(VT_IPSW_14);
    char *ipsw = t_path_join(dir, "image.ipsw");
    cr_assert_eq(symlink(source, ipsw), 0, "symlink %s: %s", ipsw, strerror(errno));
    char *b = t_path_join(t_tmp, "New.bundle");
    vt_install_refused(spec, b, EX_USAGE, "longer than", "an image path longer than VM_PATH_MAX",
                       "--ipsw", ipsw, "--cpus", "2", NULL);
    free(b);
    free(ipsw);
    free(dir);
    free(spec);
    free(source);
}

Test(install, too_few_cpus_for_the_image, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "New.bundle");
    vt_install_refused(spec, b, EX_USAGE, "--cpus 4", "--cpus 1 for 15.0", "--ipsw", VT_IPSW_15, "--cpus", "1", NULL);
    vt_install_refused(spec, b, EX_USAGE, "--memory 8192M", "--memory 4G for 15.0",
                       "--ipsw", VT_IPSW_15, "--cpus", "4", "--memory", "4G", NULL);
    free(b);
    free(spec);
}

/* Values the host cannot give (the fake: 1..8 CPUs, 2..32 GiB) are refused
 * before anything is created, like every other usage error. */
Test(install, beyond_the_host_limits_creates_nothing, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "New.bundle");
    vt_install_refused(spec, b, EX_USAGE, "9 CPUs", "--cpus 9", "--ipsw", VT_IPSW_14, "--cpus", "9", NULL);
    t_remove_tree(b);
    vt_install_refused(spec, b, EX_USAGE, "40 GiB", "--memory 40G",
                       "--ipsw", VT_IPSW_14, "--cpus", "2", "--memory", "40G", NULL);
    free(b);
    free(spec);
}

Test(install, host_too_old_for_the_image, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "New.bundle");
    setenv("MACVM_FAKE_OS", "13.6", 1);
    struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_15, "--cpus", "4", b, NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, "14.0.0", "15.0 on a 13.6 host");
    cr_expect(strstr(r.err, "13.6") != NULL, "stderr should name the host's macOS: %s", r.err);
    vt_expect_nothing_created(b, spec, "15.0 on a 13.6 host");
    proc_result_free(&r);
    free(b);
    free(spec);
}

Test(install, image_unsupported_by_virtualization, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "New.bundle");
    setenv("MACVM_FAKE_UNSUPPORTED", "1", 1);
    vt_install_refused(spec, b, EX_UNAVAILABLE, "hardware model", "unsupported image",
                       "--ipsw", VT_IPSW_14, "--cpus", "2", NULL);
    free(b);
    free(spec);
}

/* On a Mac, what the image needs is what Virtualization says when it loads the
 * image, not the manifest's numbers (14.5's: 2 CPUs, 4 GiB): here it says 3
 * CPUs and 6 GiB.  Those are recorded, raise the defaults and refuse less;
 * where it says 0, the manifest's number is recorded. */
Test(install, virtualization_minimums_outrank_the_manifest, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "New.bundle");
    setenv("MACVM_FAKE_MIN_CPUS", "3", 1);
    setenv("MACVM_FAKE_MIN_MEMORY", "6442450944", 1);
    vt_install_refused(spec, b, EX_USAGE, "--cpus 3", "--cpus 2 where Virtualization asks for 3",
                       "--ipsw", VT_IPSW_14, "--cpus", "2", NULL);

    vt_install_defaults(spec, b, 3, 6 * VT_GIB);   /* the defaults give way to Virtualization's 3 CPUs, 6 GiB */
    const struct plist *c = vt_config(b);
    vt_plist_uint(c, "InstalledMinCPUCount", 3);
    vt_plist_uint(c, "InstalledMinMemorySize", 6 * VT_GIB);

    /* where Virtualization gives 0 (here for memory), the manifest answers */
    unsetenv("MACVM_FAKE_MIN_MEMORY");
    char *b2 = t_path_join(t_tmp, "Other.bundle");
    struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "3", b2, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    proc_result_free(&r);
    c = vt_config(b2);
    vt_plist_uint(c, "InstalledMinCPUCount", 3);
    vt_plist_uint(c, "InstalledMinMemorySize", 4 * VT_GIB);
    free(b2);
    free(b);
    free(spec);
}

/* A failed or interrupted install: the bundle stays, marked incomplete, with
 * advice to retry, and nothing boots it. */
static void vt_install_incomplete(const char *how, int want)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "Broken.bundle");
    setenv("MACVM_FAKE_INSTALL", how, 1);
    struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "2", b, NULL);
    if (want)
        cr_expect_eq(r.status, want, "%s: exit %d, want %d; stderr: %s", how, r.status, want, r.err);
    else
        cr_expect(r.status != 0 && r.status < 128, "%s: exit %d, want a failure; stderr: %s", how, r.status, r.err);
    char retry[4096];
    snprintf(retry, sizeof retry, "rm -r %s && macvm install", b);
    cr_expect(strstr(r.err, retry) != NULL, "%s: stderr should say how to retry (%s): %s", how, retry, r.err);
    proc_result_free(&r);
    struct vt_spec s;
    cr_assert(vt_spec_load(&s, spec), "the bridge was not called");
    cr_expect_str_eq(vt_spec_get(&s, "call"), "install");
    cr_expect_str_eq(vt_spec_get(&s, "debug_stub"), "0");
    vt_spec_free(&s);
    cr_assert(vt_exists(b), "%s: the bundle should stay", how);
    vt_plist_completed(vt_config(b), false);

    r = run_fake("info", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "info of an incomplete bundle");
    vt_json_bool(j, "installed.completed", false, r.out);
    proc_result_free(&r);

    r = run_fake("run", "--dry-run", b, NULL);
    vt_expect_refusal(&r, EX_DATAERR, "did not complete", "run --dry-run of an incomplete bundle");
    cr_expect(strstr(r.err, b) != NULL, "stderr should name the bundle: %s", r.err);
    proc_result_free(&r);
    unlink(spec);
    r = run_fake("run", "--no-log", b, NULL);
    vt_expect_refusal(&r, EX_DATAERR, "did not complete", "run of an incomplete bundle");
    cr_expect(!vt_exists(spec), "the bridge was asked to run an incomplete bundle");
    proc_result_free(&r);
    r = run_macvm("run", "--dry-run", b, NULL);
    vt_expect_refusal(&r, EX_DATAERR, "did not complete", "./macvm run --dry-run of an incomplete bundle");
    proc_result_free(&r);
    free(b);
    free(spec);
}

Test(install, failure_leaves_the_bundle_marked_incomplete, .init = vt_init, .fini = t_tmp_fini)
{
    vt_install_incomplete("fail", 0);
}

Test(install, interrupt_leaves_the_bundle_marked_incomplete, .init = vt_init, .fini = t_tmp_fini)
{
    vt_install_incomplete("interrupt", 130);
}

/* --latest: downloaded into ~/Library/Caches/macvm/ (a HOME with Library/Caches,
 * as every Mac has), then reused by the next install. */
Test(install, latest_downloads_then_reuses_the_cache, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *home = t_path_join(t_tmp, "home"), *lib = t_path_join(home, "Library"), *caches = t_path_join(lib, "Caches");
    vt_mkdir(home);
    vt_mkdir(lib);
    vt_mkdir(caches);
    setenv("HOME", home, 1);
    char *source = vt_downloads(VT_IPSW_14);
    char cached[4200];
    snprintf(cached, sizeof cached, "%s/macvm/UniversalMac_15.1_24B83_Restore.ipsw", caches);

    char *b1 = t_path_join(t_tmp, "One.bundle");
    struct proc_result r = run_fake("install", "--latest", "--cpus", "2", b1, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.out, "downloading") != NULL, "stdout should say it downloads: %s", r.out);
    proc_result_free(&r);
    cr_assert(vt_exists(cached), "the image should be cached at %s", cached);
    char why[256] = "";
    cr_expect(vt_same_content(source, cached, why, sizeof why), "the cached image: %s", why);
    struct vt_spec s;
    cr_assert(vt_spec_load(&s, spec));
    cr_expect_str_eq(vt_spec_get(&s, "restore_image"), cached, "install from the cached image");
    vt_spec_free(&s);
    vt_plist_str(vt_config(b1), "InstalledFromIPSW", "UniversalMac_15.1_24B83_Restore.ipsw");

    /* a second install must not download again: a download would fail now */
    char *before = vt_snapshot(cached);
    setenv("MACVM_FAKE_IPSW", "/nonexistent/image.ipsw", 1);
    char *b2 = t_path_join(t_tmp, "Two.bundle");
    r = run_fake("install", "--latest", "--cpus", "2", b2, NULL);
    cr_expect_eq(r.status, 0, "the second install should reuse the download: exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.out, "using the finished download") != NULL, "stdout: %s", r.out);
    proc_result_free(&r);
    vt_expect_unchanged(cached, before, "reusing the cached image");
    vt_plist_completed(vt_config(b2), true);

    /* no --ipsw and no --latest: the latest, from the cache */
    char *b3 = t_path_join(t_tmp, "Three.bundle");
    r = run_fake("install", "--cpus", "2", b3, NULL);
    cr_expect_eq(r.status, 0, "install without --ipsw: exit %d; stderr: %s", r.status, r.err);
    proc_result_free(&r);
    free(b3);
    free(b2);
    free(b1);
    free(caches);
    free(lib);
    free(home);
    free(spec);
    free(source);
}

/* --latest with a fresh HOME: the cache folders are made as needed. */
Test(install, latest_into_a_fresh_home, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *home = t_path_join(t_tmp, "home");
    vt_mkdir(home);
    setenv("HOME", home, 1);
    char *source = vt_downloads(VT_IPSW_14);
    char *b = t_path_join(t_tmp, "New.bundle");
    struct proc_result r = run_fake("install", "--latest", "--cpus", "2", b, NULL);
    cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char cached[4200];
    snprintf(cached, sizeof cached, "%s/Library/Caches/macvm/UniversalMac_15.1_24B83_Restore.ipsw", home);
    cr_expect(vt_exists(cached), "the image should be cached at %s", cached);
    proc_result_free(&r);
    free(b);
    free(home);
    free(spec);
    free(source);
}

/* --latest where the cache would give the image a path too long for the
 * bridge: refused before anything is downloaded, saying what to do. */
Test(install, latest_refuses_a_cache_path_too_long_before_downloading, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *home = vt_deep_folder();
    setenv("HOME", home, 1);
    char *source = vt_downloads(VT_IPSW_14);
    char *b = t_path_join(t_tmp, "New.bundle");
    vt_install_refused(spec, b, EX_CANTCREAT, "--ipsw", "a download cache path too long", "--latest", "--cpus", "2",
                       NULL);
    char *library = t_path_join(home, "Library");
    cr_expect(!vt_exists(library), "nothing downloaded or made in HOME");
    free(library);
    free(b);
    free(home);
    free(spec);
    free(source);
}

/* A file, or a link to nothing (Caches on a disk not mounted), where the
 * download cache's folder belongs is named, with what to do, before
 * anything is downloaded; it stays as it was. */
Test(install, latest_names_a_file_in_the_way_of_the_cache, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *source = vt_downloads(VT_IPSW_14);
    for (int i = 0; i < 2; i++) {
        char *home = t_path_join(t_tmp, i == 0 ? "home" : "home2"), *library = t_path_join(home, "Library");
        char *caches = t_path_join(library, "Caches");
        vt_mkdir(home);
        vt_mkdir(library);
        if (i == 0)
            t_write_file(caches, "notes", 5);
        else
            cr_assert_eq(symlink("/nonexistent/Caches", caches), 0);
        const char *what = i == 0 ? "a file in the way" : "a link to nothing in the way";
        setenv("HOME", home, 1);
        char *b = t_path_join(t_tmp, "New.bundle");
        struct proc_result r = run_fake("install", "--latest", "--cpus", "2", b, NULL);
        cr_expect_eq(r.status, EX_CANTCREAT, "%s: exit %d, want %d; stderr: %s", what, r.status, EX_CANTCREAT, r.err);
        cr_expect(strstr(r.err, caches) && strstr(r.err, "in the way; move it aside"),
                  "%s: stderr should name %s and what to do: %s", what, caches, r.err);
        cr_expect(strstr(r.out, "downloading") == NULL, "%s: nothing downloaded: %s", what, r.out);
        struct stat st;
        cr_expect(lstat(caches, &st) == 0 && (i == 0 ? S_ISREG(st.st_mode) && st.st_size == 5 : S_ISLNK(st.st_mode)),
                  "%s: touched", what);
        vt_expect_nothing_created(b, spec, what);
        proc_result_free(&r);
        free(b);
        free(caches);
        free(library);
        free(home);
    }
    free(spec);
    free(source);
}

/* A bundle path too long for the bridge is refused before --latest downloads. */
Test(install, latest_refuses_a_bundle_path_too_long_before_downloading, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *home = t_path_join(t_tmp, "home"), *library = t_path_join(home, "Library");
    vt_mkdir(home);
    setenv("HOME", home, 1);
    char *dir = vt_deep_folder(), *b = t_path_join(dir, "New.bundle");
    vt_install_refused(spec, b, EX_USAGE, "longer than", "a deep bundle with --latest", "--latest", "--cpus", "2",
                       NULL);
    cr_expect(!vt_exists(library), "nothing downloaded into HOME");
    free(b);
    free(dir);
    free(library);
    free(home);
    free(spec);
}

Test(install, failed_download_creates_nothing, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *home = t_path_join(t_tmp, "home"), *lib = t_path_join(home, "Library"), *caches = t_path_join(lib, "Caches");
    vt_mkdir(home);
    vt_mkdir(lib);
    vt_mkdir(caches);
    setenv("HOME", home, 1);
    setenv("MACVM_FAKE_IPSW", "/nonexistent/image.ipsw", 1);
    char *b = t_path_join(t_tmp, "New.bundle");
    struct proc_result r = run_fake("install", "--latest", "--cpus", "2", b, NULL);
    cr_expect(r.status != 0 && r.status < 128, "exit %d, want a failure; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "NSURLErrorDomain") != NULL, "stderr should report the download error: %s", r.err);
    vt_expect_nothing_created(b, spec, "failed download");
    char cached[4200];
    snprintf(cached, sizeof cached, "%s/macvm/UniversalMac_15.1_24B83_Restore.ipsw", caches);
    cr_expect(!vt_exists(cached), "no image may be cached after a failed download");
    proc_result_free(&r);
    free(b);
    free(caches);
    free(lib);
    free(home);
    free(spec);
}

/* Output to a reader that went away (`macvm install ... | head -1`): writes
 * fail, but the install is not killed half way (SIGPIPE): it completes, and
 * the exit says the output was lost. */
Test(install, a_reader_that_goes_away_never_stops_the_install, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "New.bundle");
    vt_expect_survives_a_closed_reader((const char *[]){t_env_or("MACVM_FAKE_BIN", "build/macvm-fake"), "install",
                                                        "--ipsw", VT_IPSW_14, "--cpus", "2", b, NULL});
    vt_plist_completed(vt_config(b), true);
    free(b);
    free(spec);
}

Test(install, linux_build_creates_nothing, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = t_path_join(t_tmp, "New.bundle");
    setenv("HOME", t_tmp, 1);
    char *before = vt_snapshot(t_tmp);
    struct proc_result r = run_macvm("install", "--ipsw", VT_IPSW_14, "--disk-size", "80G", b, NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, "install", "./macvm install");
    cr_expect_eq(r.out_len, 0, "stdout should be empty: %s", r.out);
    proc_result_free(&r);
    r = run_macvm("install", "--latest", b, NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, "install", "./macvm install --latest");
    proc_result_free(&r);
    /* the fake without a host says the same */
    char *spec = t_path_join(t_tmp, "spec.txt");
    setenv("MACVM_FAKE_SPEC", spec, 1);
    setenv("MACVM_FAKE_HOST", "none", 1);
    r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "2", b, NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, NULL, "macvm-fake install, no host");
    proc_result_free(&r);
    vt_expect_unchanged(t_tmp, before, "install where there is no Virtualization");
    free(spec);
    free(b);
}

Test(install, usage_errors, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "New.bundle");
    vt_install_refused(spec, b, EX_USAGE, "--latest", "--ipsw with --latest", "--ipsw", VT_IPSW_14, "--latest", NULL);
    struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "zero", b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "--cpus", "--cpus zero");
    proc_result_free(&r);
    r = run_fake("install", "--ipsw", VT_IPSW_14, "--memory", "lots", b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "--memory", "--memory lots");
    proc_result_free(&r);
    r = run_fake("install", "--ipsw", VT_IPSW_14, b, "Second.bundle", NULL);
    vt_expect_refusal(&r, EX_USAGE, NULL, "two bundles");
    vt_expect_nothing_created(b, spec, "usage errors");
    proc_result_free(&r);
    free(b);
    free(spec);
}

/* ---------------------- install records ---------------------- */

/* The folder of the bundle's one install record, logs/<start time>-install (free it). */
static char *vt_install_record(const char *bundle)
{
    char **names;
    size_t n = tk_run_names(bundle, &names);
    cr_assert_eq(n, 1, "want one record under %s/logs, got %zu", bundle, n);
    size_t len = strlen(names[0]);
    cr_expect(len == 27 && strcmp(names[0] + 19, "-install") == 0, "the record should be named "
              "<start time>-install: %s", names[0]);
    char *logs = t_path_join(bundle, "logs"), *dir = t_path_join(logs, names[0]);
    free(names[0]);
    free(names);
    free(logs);
    return dir;
}

/* A failed install leaves its record: run.json of kind "install" with the VZ
 * error and the installer's own beside it, the log with the installer's lines;
 * stderr names both and the advice for the installer's; info lists it,
 * feedback --run reports it first thing, pvg-log --run reads it. */
Test(install, a_failed_install_leaves_a_record_feedback_reports, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    char *feed = fixture("logs/install-failed.ndjson");
    char *tool = tk_stand_in(t_tmp, "log", feed, "exec sleep 30");
    setenv("MACVM_LOG_TOOL", tool, 1);
    setenv("MACVM_FAKE_INSTALL", "fail", 1);
    char *b = t_path_join(t_tmp, "Beta.bundle");
    struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "2", b, NULL);
    cr_expect_eq(r.status, EX_SOFTWARE, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "(VZErrorDomain code 10007); the installer's log names TSSErrorDomain code 94") != NULL,
              "stderr should show the installer's error beside Virtualization's: %s", r.err);
    cr_expect(strstr(r.err, "no longer signs") != NULL, "the advice should be the installer error's: %s", r.err);
    proc_result_free(&r);
    pid_t pid = tk_stand_in_pid(tool);
    cr_expect(pid > 0 && !tk_alive(pid), "the capture should have been started and stopped (pid %d)", (int)pid);
    char *argv = t_path_join(t_tmp, "log.argv");
    size_t n;
    char *args = (char *)t_read_file(argv, &n);
    cr_expect(strstr(args, "process == \"com.apple.Virtualization.Installation\"") != NULL,
              "the capture should include the installer's process: %s", args);

    char *dir = vt_install_record(b);
    cr_expect(tk_file_exists(dir, "vz.ndjson"), "the install's log should be in %s", dir);
    char *text = vt_run_json(dir);
    const struct plist *j = vt_json(text);
    vt_json_str(j, "kind", "install", text);
    vt_json_str(j, "outcome.result", "error", text);
    vt_json_str(j, "outcome.error.domain", "VZErrorDomain", text);
    vt_json_uint(j, "outcome.error.code", 10007, text);
    vt_json_str(j, "outcome.installer_error.domain", "TSSErrorDomain", text);
    vt_json_uint(j, "outcome.installer_error.code", 94, text);
    vt_json_str(j, "command.0", "install", text);
    vt_json_str(j, "log", "vz.ndjson", text);

    const char *name = strrchr(dir, '/') + 1;
    r = run_fake("info", b, NULL);
    char want[256];
    snprintf(want, sizeof want, "%s  error", name);
    cr_expect(strstr(r.out, want) != NULL, "info should list the install record: %s", r.out);
    proc_result_free(&r);

    r = run_fake("feedback", "--run", name, b, NULL);
    cr_expect_eq(r.status, 0, "feedback --run %s: exit %d; stderr: %s", name, r.status, r.err);
    cr_expect(strstr(r.out, "Installation failed") && strstr(r.out, "installing a macOS 14.5 guest"),
              "the title should say the install failed: %s", r.out);
    cr_expect(strstr(r.out, "- the installer's log names: TSSErrorDomain code 94") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "- recorded: an installation (macvm install)") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "macvm install --ipsw") != NULL, "the reproduce command is the install's: %s", r.out);
    proc_result_free(&r);

    r = run_fake("pvg-log", "--run", name, b, NULL);
    cr_expect_eq(r.status, 1, "pvg-log --run of an install: no negotiation, exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.err, "vz.ndjson") != NULL, "it should have read the install's log: %s", r.err);
    proc_result_free(&r);
    r = run_fake("pvg-log", "--run", "2020-01-01T00-00-00", b, NULL);
    cr_expect_eq(r.status, EX_NOINPUT, "an unknown run: exit %d; %s", r.status, r.err);
    proc_result_free(&r);
    free(text);
    free(dir);
    free(args);
    free(argv);
    free(b);
    free(tool);
    free(feed);
}

Test(install, a_finished_install_is_recorded_too, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    char *tool = tk_stand_in(t_tmp, "log", NULL, "exec sleep 30");
    setenv("MACVM_LOG_TOOL", tool, 1);
    char *b = t_path_join(t_tmp, "Good.bundle");
    struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_14, "--cpus", "2", b, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "this install's record: ") != NULL, "stderr should name the record: %s", r.err);
    proc_result_free(&r);
    char *dir = vt_install_record(b), *text = vt_run_json(dir);
    const struct plist *j = vt_json(text);
    vt_json_str(j, "kind", "install", text);
    vt_json_str(j, "outcome.result", "installed", text);
    vt_json_bool(j, "outcome.vm_started", false, text);   /* an install runs no VM of macvm's */
    cr_expect(vt_get(j, "outcome.installer_error") == NULL, "no installer error: %s", text);
    /* The bundle's runs come after it, in the same list. */
    r = run_fake("run", b, NULL);
    cr_expect_eq(r.status, 0, "run: exit %d; %s", r.status, r.err);
    proc_result_free(&r);
    char **names;
    size_t k = tk_run_names(b, &names);
    cr_expect_eq(k, 2, "the install's record and the run's");
    for (size_t i = 0; i < k; i++)
        free(names[i]);
    free(names);
    free(text);
    free(dir);
    free(b);
    free(tool);
}

/* A bundle name with ESC, CR and a newline never reaches the terminal raw:
 * every line install prints about it, failure included, stays one line. */
Test(install, control_characters_in_the_name_are_escaped, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = vt_install_spec();
    char *b = t_path_join(t_tmp, "E\nvil\x1b[31m\rX.bundle");
    setenv("MACVM_FAKE_INSTALL", "fail", 1);
    struct proc_result r = run_fake("install", "--ipsw", VT_IPSW_14, "--disk-size", "1G", b, NULL);
    cr_expect_neq(r.status, 0, "the install was made to fail; stderr: %s", r.err);
    cr_expect(strstr(r.out, "installing macOS") != NULL, "stdout: %s", r.out);
    cr_expect(!strpbrk(r.out, "\x1b\r") && !strpbrk(r.err, "\x1b\r"), "raw ESC or CR printed:\n%s\n%s", r.out, r.err);
    cr_expect(strstr(r.err, "E\\nvil\\x1b[31m\\rX.bundle: ") != NULL, "the name escaped: %s", r.err);
    for (const char *p = r.err; (p = strchr(p, '\n')); p++)
        cr_expect(p[1] == 0 || strncmp(p + 1, "macvm: ", 7) == 0 || strncmp(p + 1, "install [", 9) == 0,
                  "a line that is not macvm's own: %s", p + 1);
    proc_result_free(&r);
    unsetenv("MACVM_FAKE_INSTALL");
    free(b);
    free(spec);
}
