/* test_run.c -- `macvm run`: the VM description (--dry-run), what the bridge is
 * handed, how runs end, run records, refusals, and ephemeral runs.
 *
 * Contract under test (issue acceptance items "run --dry-run", "Real runs via
 * the fake", "Ephemeral runs"):
 *   - `run --dry-run --json` prints the one description of the run (one JSON
 *     line) on any OS, with ./macvm, the fake, and the fake with no host.
 *   - Start modes exclude each other (64); debug-stub ports 1..65535 (else 64);
 *     --debug-stub-all-interfaces needs --debug-stub (64); --cpus/--memory within
 *     the host's limits (the fake: 1..8 CPUs, 2..32 GiB) and not below the
 *     Config.plist's InstalledMinCPUCount/InstalledMinMemorySize (64); a
 *     non-normal start with SaveFile.vzvmsave present is refused (64, nothing
 *     deleted); --save-on-stop needs macOS 14 on the host (69).
 *   - The fake bridge (build/macvm-fake, no --dry-run) receives exactly the
 *     values the dry run showed for the same options ($MACVM_FAKE_SPEC).
 *   - Exit codes: 0 when the guest stopped (or was stopped, or saved); 70 with
 *     advice on a Virtualization error; 130 when interrupted; 69 where
 *     Virtualization is missing (./macvm on Linux: one line) or for
 *     --debug-stub without the private entitlement (while the spec is resolved,
 *     so a dry run on a Mac refuses it too; off a Mac the dry run describes it);
 *     75 when the VM runs already (AuxiliaryStorage locked), writing nothing.
 *   - Every run leaves logs/<start time>/run.json (and vz.ndjson from the log
 *     tool, here a stand-in via $MACVM_LOG_TOOL, unless --no-log).
 *   - Ctrl-C or SIGTERM while the VM runs: exit 130, recorded as interrupted.
 *   - --ephemeral runs a clone `.NAME-ephemeral-XXXXXX/NAME` next to the bundle;
 *     the source stays byte-identical (also when named "NAME/", "." or "NAME/."),
 *     the clone is gone afterwards however the run ends (error, interrupted
 *     outcome, Ctrl-C/SIGTERM while cloning, before the VM starts or while it
 *     runs, a full disk while cloning), and the log goes to
 *     NAME.ephemeral-logs/<start time>/.
 * Runs that capture the log use a stand-in for `log stream` ($MACVM_LOG_TOOL,
 * vt_log_tool); signal tests spawn macvm-fake in the background
 * (MACVM_FAKE_RUN_SECONDS keeps the "VM" running).
 */
#include "test_vm_common.c"

/* Every option `macvm help run` lists, and the tests here that use each. */
static const char *const vt_run_options_tested[] = {
    "--dry-run",      /* everywhere */
    "--json",         /* everywhere */
    "--recovery",     /* start_modes, two_start_modes_are_refused, bridge_gets_recovery_flags */
    "--dfu",          /* acceptance_example, start_modes, bridge_gets_dfu_stub_boot_args */
    "--iboot-stage1", /* start_modes, bridge_gets_iboot1_stub_all_interfaces */
    "--iboot-stage2", /* start_modes, bridge_gets_iboot2_port_no_log */
    "--debug-stub",   /* acceptance_example, debug_stub_ports, bridge_gets_* */
    "--debug-stub-all-interfaces", /* all_interfaces_needs_debug_stub, bridge_gets_iboot1_... */
    "--boot-args",    /* acceptance_example, flags, bridge_gets_recovery_flags */
    "--headless",     /* flags, bridge_gets_recovery_flags, bridge_gets_ephemeral */
    "--audio",        /* flags, bridge_gets_recovery_flags */
    "--save-on-stop", /* flags, save_on_stop_needs_macos_14, bridge_gets_saved_state */
    "--ephemeral",    /* ephemeral_describes_the_clone, bridge_gets_ephemeral, ephemeral suite */
    "--no-log",       /* flags, bridge_gets_iboot2_port_no_log, no_log_still_records_the_run */
    "--cpus",         /* cpus_and_memory_within_host_limits, bridge_gets_recovery_flags */
    "--memory",       /* cpus_and_memory_within_host_limits, bridge_gets_iboot2_port_no_log */
    "--disk-cache",   /* test_save.c: disk_modes */
    "--disk-sync",    /* test_save.c: disk_modes */
    "--console",      /* test_inspect.c: dry_run_shows_every_field, console_serial_and_screen_land_... */
    "--serial",       /* test_inspect.c: the same, refusals_before_the_bridge */
    "--panic",        /* test_inspect.c: panic_path_follows_the_host */
    "--share",        /* test_inspect.c: shares_that_cannot_be, bridge_gets_what_the_dry_run_showed */
    "--screenshot",   /* test_inspect.c: screenshot_failure_is_reported */
    NULL,
};

static const char *vt_fake(void)
{
    return t_env_or("MACVM_FAKE_BIN", "build/macvm-fake");
}

/* Runs bin with "run", extra (NULL-terminated, may be NULL), opts (NULL-terminated) and bundle. */
static struct proc_result vt_run_with(const char *bin, const char *const *extra, const char *const *opts,
                                      const char *bundle)
{
    const char *argv[T_MAX_ARGS];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "run";
    for (int i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    for (int i = 0; opts && opts[i]; i++)
        argv[n++] = opts[i];
    if (bundle)
        argv[n++] = bundle;
    argv[n] = NULL;
    return run_argv(argv);
}

static const char *const vt_dry_json[] = {"--dry-run", "--json", NULL};

/* Sets $MACVM_FAKE_SPEC to a fresh file in the test's temp dir; returns its path. */
static char *vt_spec_file(const char *name)
{
    char *path = t_path_join(t_tmp, name);
    unlink(path);
    setenv("MACVM_FAKE_SPEC", path, 1);
    return path;
}

/* Returns the one run folder in logs (asserts there is exactly one; free it). */
static char *vt_only_run(const char *logs)
{
    cr_assert_eq(vt_count_entries(logs), 1, "want exactly one run folder in %s", logs);
    DIR *d = opendir(logs);
    char *found = NULL;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.')
            found = t_path_join(logs, de->d_name);
    closedir(d);
    const char *name = strrchr(found, '/') + 1;
    int y, mo, da, h, mi, s;
    char t;
    cr_expect(strlen(name) == 19 && sscanf(name, "%4d-%2d-%2d%c%2d-%2d-%2d", &y, &mo, &da, &t, &h, &mi, &s) == 7 &&
                  t == 'T',
              "the run folder should be named by its start time (YYYY-MM-DDTHH-MM-SS): %s", name);
    return found;
}

/* Dry run of opts with the fake, then the same run for real: the bridge must
 * get exactly the described values. */
static void vt_bridge_gets_dry_run(const char *bundle, const char *const *opts)
{
    struct proc_result dry = vt_run_with(vt_fake(), vt_dry_json, opts, bundle);
    const struct plist *j = vt_expect_json_ok(&dry, "dry run");
    char *spec = vt_spec_file("spec.txt");
    struct proc_result r = vt_run_with(vt_fake(), NULL, opts, bundle);
    cr_expect_eq(r.status, 0, "the real run: exit %d; stderr: %s", r.status, r.err);
    struct vt_spec s;
    cr_assert(vt_spec_load(&s, spec), "the bridge was not called; stderr: %s", r.err);
    cr_expect_eq(s.calls, 1, "one bridge call, got %d", s.calls);
    cr_expect_str_eq(vt_spec_get(&s, "call"), "run");
    vt_expect_spec_matches(&s, j, dry.out);
    vt_spec_free(&s);
    proc_result_free(&r);
    proc_result_free(&dry);
    free(spec);
}

/* ---------------------------- dry runs ---------------------------- */

/* The issue's example, with ./macvm, the fake, and the fake without a host. */
Test(run, dry_run_acceptance_example, .init = vt_init, .fini = t_tmp_fini)
{
    setenv("MACVM_FAKE_PRIVATE", "1", 1);   /* the fake as a Mac: --debug-stub needs the entitlement */
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 64 * VT_GIB);
    static const char *const opts[] = {"--dfu", "--debug-stub", "5555", "--boot-args", "debug=0x14e -v", NULL};
    for (int i = 0; i < 3; i++) {
        if (i == 2)
            setenv("MACVM_FAKE_HOST", "none", 1);
        const char *what = i == 0 ? "./macvm" : i == 1 ? "macvm-fake" : "macvm-fake, MACVM_FAKE_HOST=none";
        struct proc_result r = vt_run_with(i == 0 ? t_env_or("MACVM_BIN", "./macvm") : vt_fake(), vt_dry_json,
                                           opts, b);
        const struct plist *j = vt_expect_json_ok(&r, what);
        cr_expect_eq(r.err_len, 0, "%s: stderr should be empty: %s", what, r.err);
        vt_json_str(j, "start_mode", "dfu", r.out);
        vt_json_bool(j, "debug_stub.enabled", true, r.out);
        vt_json_uint(j, "debug_stub.port", 5555, r.out);
        vt_json_bool(j, "debug_stub.all_interfaces", false, r.out);
        cr_expect(strstr(r.out, "\"debug_stub\":{\"enabled\":true,\"port\":5555,\"all_interfaces\":false}") != NULL,
                  "%s: debug_stub should be exactly {enabled true, port 5555, all_interfaces false}: %s", what, r.out);
        vt_json_str(j, "boot_args", "debug=0x14e -v", r.out);
        vt_json_bool(j, "headless", false, r.out);
        vt_json_bool(j, "audio", false, r.out);
        vt_json_bool(j, "restore_saved_state", false, r.out);
        vt_json_bool(j, "save_on_stop", false, r.out);
        vt_json_bool(j, "ephemeral", false, r.out);
        vt_json_bool(j, "capture_log", true, r.out);
        vt_json_str(j, "ecid", VT_ECID, r.out);
        vt_json_str(j, "bundle", b, r.out);
        const struct plist *title = vt_get(j, "title");
        cr_expect(title && title->type == PLIST_STRING && strstr(title->string, "VM.bundle") &&
                      strstr(title->string, "DFU (ECID " VT_ECID ")"),
                  "%s: the title should name the bundle, DFU and the ECID: %s", what, r.out);
        proc_result_free(&r);
    }
    free(b);
}

Test(run, start_modes, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    const char *flags[] = {NULL, "--recovery", "--dfu", "--iboot-stage1", "--iboot-stage2"};
    const char *names[] = {"normal", "recovery", "dfu", "iboot-stage1", "iboot-stage2"};
    for (int i = 0; i < 5; i++) {
        const char *opts[] = {flags[i], NULL};
        struct proc_result r = vt_run_with(vt_fake(), vt_dry_json, opts, b);
        const struct plist *j = vt_expect_json_ok(&r, names[i]);
        vt_json_str(j, "start_mode", names[i], r.out);
        vt_json_bool(j, "debug_stub.enabled", false, r.out);
        vt_json_null(j, "debug_stub.port", r.out);
        vt_json_null(j, "boot_args", r.out);
        proc_result_free(&r);
    }
    free(b);
}

Test(run, two_start_modes_are_refused, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    const char *pairs[][2] = {
        {"--dfu", "--recovery"},           {"--recovery", "--dfu"},         {"--iboot-stage1", "--iboot-stage2"},
        {"--iboot-stage1", "--recovery"}, {"--iboot-stage1", "--dfu"},     {"--iboot-stage2", "--recovery"},
        {"--iboot-stage2", "--dfu"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        const char *opts[] = {pairs[i][0], pairs[i][1], NULL};
        char what[128];
        snprintf(what, sizeof what, "%s %s", pairs[i][0], pairs[i][1]);
        struct proc_result r = vt_run_with(vt_fake(), vt_dry_json, opts, b);
        vt_expect_refusal(&r, EX_USAGE, i < 2 ? "--dfu and --recovery" : "start mode", what);
        cr_expect_eq(r.out_len, 0, "%s: stdout should be empty: %s", what, r.out);
        proc_result_free(&r);
    }
    free(b);
}

Test(run, debug_stub_ports, .init = vt_init, .fini = t_tmp_fini)
{
    setenv("MACVM_FAKE_PRIVATE", "1", 1);   /* the fake as a Mac: --debug-stub needs the entitlement */
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    const char *bad[][2] = {
        {"--debug-stub", "0"},      {"--debug-stub", "65536"},     {"--debug-stub", "5555x"},
        {"--debug-stub=0", NULL},   {"--debug-stub=65536", NULL},  {"--debug-stub=abc", NULL},
        {"--debug-stub", "abc"},    {"--debug-stub=", NULL},       {"--debug-stub=-1", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *opts[] = {bad[i][0], bad[i][1], NULL};
        char what[128];
        snprintf(what, sizeof what, "%s %s", bad[i][0], bad[i][1] ? bad[i][1] : "");
        struct proc_result r = vt_run_with(vt_fake(), vt_dry_json, opts, b);
        vt_expect_refusal(&r, EX_USAGE, NULL, what);
        cr_expect_eq(r.out_len, 0, "%s: stdout should be empty: %s", what, r.out);
        proc_result_free(&r);
    }
    struct {
        const char *a, *b;
        unsigned port;
    } good[] = {{"--debug-stub", "1", 1}, {"--debug-stub=65535", NULL, 65535}, {"--debug-stub=5555", NULL, 5555},
                {"--debug-stub", NULL, 0}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        const char *opts[] = {good[i].a, good[i].b, NULL};
        struct proc_result r = vt_run_with(vt_fake(), vt_dry_json, opts, b);
        const struct plist *j = vt_expect_json_ok(&r, good[i].a);
        vt_json_bool(j, "debug_stub.enabled", true, r.out);
        if (good[i].port)
            vt_json_uint(j, "debug_stub.port", good[i].port, r.out);
        else
            vt_json_null(j, "debug_stub.port", r.out);
        vt_json_str(j, "bundle", b, r.out);
        proc_result_free(&r);
    }
    free(b);
}

/* getopt moves the bundle past the options: the port still belongs to --debug-stub. */
Test(run, options_after_the_bundle, .init = vt_init, .fini = t_tmp_fini)
{
    setenv("MACVM_FAKE_PRIVATE", "1", 1);   /* the fake as a Mac: --debug-stub needs the entitlement */
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    struct proc_result r = run_fake("run", b, "--debug-stub", "5555", "--dry-run", "--json", "--dfu", NULL);
    const struct plist *j = vt_expect_json_ok(&r, "bundle first");
    vt_json_str(j, "bundle", b, r.out);
    vt_json_uint(j, "debug_stub.port", 5555, r.out);
    vt_json_str(j, "start_mode", "dfu", r.out);
    proc_result_free(&r);
    free(b);
}

Test(run, all_interfaces_needs_debug_stub, .init = vt_init, .fini = t_tmp_fini)
{
    setenv("MACVM_FAKE_PRIVATE", "1", 1);   /* the fake as a Mac: --debug-stub needs the entitlement */
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    static const char *const alone[] = {"--debug-stub-all-interfaces", NULL};
    struct proc_result r = vt_run_with(vt_fake(), vt_dry_json, alone, b);
    vt_expect_refusal(&r, EX_USAGE, "--debug-stub", "--debug-stub-all-interfaces alone");
    proc_result_free(&r);
    static const char *const both[] = {"--debug-stub-all-interfaces", "--debug-stub=7777", NULL};
    r = vt_run_with(vt_fake(), vt_dry_json, both, b);
    const struct plist *j = vt_expect_json_ok(&r, "with --debug-stub");
    vt_json_bool(j, "debug_stub.all_interfaces", true, r.out);
    vt_json_uint(j, "debug_stub.port", 7777, r.out);
    proc_result_free(&r);
    free(b);
}

Test(run, cpus_and_memory_within_host_limits, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    const char *bad[][2] = {{"--cpus", "9"},      {"--cpus", "0"},      {"--cpus", "1000"}, {"--cpus", "two"},
                            {"--memory", "1G"},   {"--memory", "33G"},  {"--memory", "2047M"},
                            {"--memory", "abc"},  {"--memory", "8"},    {"--memory", "0G"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *opts[] = {bad[i][0], bad[i][1], NULL};
        char what[128];
        snprintf(what, sizeof what, "%s %s", bad[i][0], bad[i][1]);
        struct proc_result r = vt_run_with(vt_fake(), vt_dry_json, opts, b);
        vt_expect_refusal(&r, EX_USAGE, NULL, what);
        proc_result_free(&r);
    }
    struct {
        const char *cpus, *memory;
        unsigned c;
        uint64_t m;
    } good[] = {{"1", "2G", 1, 2 * VT_GIB}, {"8", "32G", 8, 32 * VT_GIB}, {"4", "8192M", 4, 8 * VT_GIB},
                {"2", "3GiB", 2, 3 * VT_GIB}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        const char *opts[] = {"--cpus", good[i].cpus, "--memory", good[i].memory, NULL};
        struct proc_result r = vt_run_with(vt_fake(), vt_dry_json, opts, b);
        const struct plist *j = vt_expect_json_ok(&r, good[i].memory);
        vt_json_uint(j, "cpu_count", good[i].c, r.out);
        vt_json_uint(j, "memory_bytes", good[i].m, r.out);
        proc_result_free(&r);
    }
    free(b);
}

/* Config.plist says what the installed macOS needs: less is refused, also
 * when it comes from Config.plist's own CPUCount. */
Test(run, below_what_the_installed_macos_needs, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "Sequoia.bundle", "apple", 4 * VT_GIB);
    char *cfg = t_path_join(b, "Config.plist");
    vt_write_text(cfg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n"
                       "\t<key>CPUCount</key>\n\t<integer>4</integer>\n"
                       "\t<key>MemorySize</key>\n\t<integer>8589934592</integer>\n"
                       "\t<key>InstalledProductVersion</key>\n\t<string>15.0</string>\n"
                       "\t<key>InstallCompleted</key>\n\t<true/>\n"
                       "\t<key>InstalledMinCPUCount</key>\n\t<integer>4</integer>\n"
                       "\t<key>InstalledMinMemorySize</key>\n\t<integer>8589934592</integer>\n"
                       "</dict>\n</plist>\n");
    static const char *const few[] = {"--cpus", "3", NULL};
    struct proc_result r = vt_run_with(vt_fake(), vt_dry_json, few, b);
    vt_expect_refusal(&r, EX_USAGE, "--cpus 4", "--cpus 3 below 4");
    cr_expect(strstr(r.err, "15.0") != NULL, "stderr should name macOS 15.0: %s", r.err);
    proc_result_free(&r);
    static const char *const little[] = {"--memory", "6G", NULL};
    r = vt_run_with(vt_fake(), vt_dry_json, little, b);
    vt_expect_refusal(&r, EX_USAGE, "--memory 8192M", "--memory 6G below 8 GiB");
    proc_result_free(&r);
    /* Linux build too: the minimum is the bundle's, not the host's */
    r = run_macvm("run", "--dry-run", "--cpus", "2", b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "--cpus 4", "./macvm --cpus 2");
    proc_result_free(&r);
    static const char *const enough[] = {"--cpus", "4", "--memory", "8G", NULL};
    r = vt_run_with(vt_fake(), vt_dry_json, enough, b);
    const struct plist *j = vt_expect_json_ok(&r, "at the minimum");
    vt_json_uint(j, "cpu_count", 4, r.out);
    vt_json_uint(j, "memory_bytes", 8 * VT_GIB, r.out);
    proc_result_free(&r);

    /* Config.plist's own CPUCount below the minimum */
    vt_write_text(cfg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n"
                       "\t<key>CPUCount</key>\n\t<integer>2</integer>\n"
                       "\t<key>InstalledMinCPUCount</key>\n\t<integer>4</integer>\n"
                       "</dict>\n</plist>\n");
    r = run_fake("run", "--dry-run", b, NULL);
    /* not a usage error: the value is in Config.plist, and the fix is there */
    vt_expect_refusal(&r, EX_CONFIG, "plutil -replace CPUCount -integer 4", "CPUCount 2 below 4");
    proc_result_free(&r);
    free(cfg);
    free(b);
}

Test(run, saved_state_and_start_modes, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "Saved.bundle", "configured", 4 * VT_GIB);
    char *save = t_path_join(b, "SaveFile.vzvmsave");
    vt_fill(save, 0, 300 * VT_KIB, 9);
    char *before = vt_snapshot(b);
    const char *modes[] = {"--recovery", "--dfu", "--iboot-stage1", "--iboot-stage2"};
    for (int i = 0; i < 4; i++) {
        const char *opts[] = {modes[i], NULL};
        struct proc_result r = vt_run_with(vt_fake(), vt_dry_json, opts, b);
        vt_expect_refusal(&r, EX_USAGE, "SaveFile.vzvmsave", modes[i]);
        proc_result_free(&r);
        /* and for real: refused before the bridge, nothing deleted */
        char *spec = vt_spec_file("spec.txt");
        r = vt_run_with(vt_fake(), NULL, opts, b);
        vt_expect_refusal(&r, EX_USAGE, "SaveFile.vzvmsave", modes[i]);
        cr_expect(!vt_exists(spec), "%s: the bridge was called", modes[i]);
        proc_result_free(&r);
        free(spec);
    }
    vt_expect_unchanged(b, before, "refused starts with a saved state");

    /* a normal start restores it */
    struct proc_result r = run_fake("run", "--dry-run", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "normal start with a saved state");
    vt_json_bool(j, "restore_saved_state", true, r.out);
    vt_json_str(j, "start_mode", "normal", r.out);
    proc_result_free(&r);
    /* a host before macOS 14 cannot restore, and a fresh start would make the state stale: refused */
    setenv("MACVM_FAKE_OS", "13.6", 1);
    r = run_fake("run", "--dry-run", "--json", b, NULL);
    cr_expect_eq(r.status, EX_UNAVAILABLE, "macOS 13.6 host: exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "SaveFile.vzvmsave"), "the refusal names the saved state: %s", r.err);
    cr_expect_eq(r.out_len, 0, "nothing printed on stdout: %s", r.out);
    proc_result_free(&r);
    cr_expect(vt_exists(save), "the saved state must not be deleted");
    free(save);
    free(b);
}

Test(run, save_on_stop_needs_macos_14, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    setenv("MACVM_FAKE_OS", "13.6", 1);
    struct proc_result r = run_fake("run", "--dry-run", "--json", "--save-on-stop", b, NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, "13.6", "--save-on-stop on 13.6");
    proc_result_free(&r);
    setenv("MACVM_FAKE_OS", "14.0", 1);
    r = run_fake("run", "--dry-run", "--json", "--save-on-stop", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "--save-on-stop on 14.0");
    vt_json_bool(j, "save_on_stop", true, r.out);
    proc_result_free(&r);
    free(b);
}

Test(run, flags, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    struct proc_result r = run_fake("run", "--dry-run", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "no flags");
    vt_json_bool(j, "headless", false, r.out);
    vt_json_bool(j, "audio", false, r.out);
    vt_json_bool(j, "save_on_stop", false, r.out);
    vt_json_bool(j, "capture_log", true, r.out);
    vt_json_null(j, "boot_args", r.out);
    proc_result_free(&r);

    r = run_fake("run", "--dry-run", "--json", "--headless", "--audio", "--save-on-stop", "--no-log", "--boot-args",
                 "", b, NULL);
    j = vt_expect_json_ok(&r, "all flags");
    vt_json_bool(j, "headless", true, r.out);
    vt_json_bool(j, "audio", true, r.out);
    vt_json_bool(j, "save_on_stop", true, r.out);
    vt_json_bool(j, "capture_log", false, r.out);
    vt_json_str(j, "boot_args", "", r.out);   /* "" clears the variable: not the same as leaving it */
    vt_json_str(j, "start_mode", "normal", r.out);
    proc_result_free(&r);

    /* NVRAM takes 1023 bytes of boot-args */
    char args[1100];
    memset(args, 'v', sizeof args);
    args[1023] = 0;
    r = run_fake("run", "--dry-run", "--json", "--boot-args", args, b, NULL);
    j = vt_expect_json_ok(&r, "1023 bytes of boot-args");
    vt_json_str(j, "boot_args", args, r.out);
    proc_result_free(&r);
    args[1023] = 'v';
    args[1024] = 0;
    r = run_fake("run", "--dry-run", "--json", "--boot-args", args, b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "--boot-args", "1024 bytes of boot-args");
    proc_result_free(&r);
    free(b);
}

/* Boot-args that are not UTF-8 (typed in a Latin-1 terminal) would reach NVRAM
 * as an empty string, which clears the variable the run says it sets: the dry
 * run and the run refuse them alike, before the bridge, and record no run.  A
 * C1 control character (U+0085, a line break to Unicode) is a control character. */
Test(run, boot_args_not_utf8_refused, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *spec = vt_spec_file("spec.txt"), *logs = t_path_join(b, "logs");
    static const struct { const char *args, *needle; } bad[] = {
        {"debug=0x14e caf\xe9", "not UTF-8"}, {"a\xc2\x85" "b", "control characters"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct proc_result r = run_fake("run", "--dry-run", "--boot-args", bad[i].args, b, NULL);
        vt_expect_refusal(&r, EX_USAGE, bad[i].needle, "dry run");
        proc_result_free(&r);
        r = run_fake("run", "--boot-args", bad[i].args, b, NULL);
        vt_expect_refusal(&r, EX_USAGE, bad[i].needle, "run");
        proc_result_free(&r);
        cr_expect(!vt_exists(spec), "the bridge was called for %s", bad[i].needle);
        cr_expect(!vt_exists(logs), "a refused run left %s", logs);
    }
    struct proc_result r = run_fake("run", "--dry-run", "--json", "--boot-args", "caf\xc3\xa9 \xc2\xa0", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "UTF-8 boot-args");
    vt_json_str(j, "boot_args", "caf\xc3\xa9 \xc2\xa0", r.out);
    proc_result_free(&r);
    free(logs);
    free(spec);
    free(b);
}

/* A bundle whose path is not UTF-8 (possible on a foreign volume) is refused
 * up front by run, its dry run and clone: the bridge would get an empty path. */
Test(run, a_bundle_path_not_utf8_is_refused, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM\xff.bundle", "configured", 4 * VT_GIB);
    char *spec = vt_spec_file("spec.txt"), *logs = t_path_join(b, "logs"), *copy = t_path_join(t_tmp, "Copy.bundle");
    struct proc_result r = run_fake("run", "--dry-run", b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "not UTF-8", "dry run");
    proc_result_free(&r);
    r = run_fake("run", "--headless", b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "not UTF-8", "run");
    proc_result_free(&r);
    r = run_fake("clone", b, copy, NULL);
    cr_expect_eq(r.status, 0, "clone from it: exit %d; stderr: %s", r.status, r.err);   /* a copy may fix the name */
    proc_result_free(&r);
    cr_expect(!vt_exists(spec), "the bridge was called");
    cr_expect(!vt_exists(logs), "a refused run left %s", logs);
    free(copy);
    free(logs);
    free(spec);
    free(b);
}

Test(run, ephemeral_describes_the_clone, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    struct proc_result r = run_fake("run", "--dry-run", "--json", "--ephemeral", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "--ephemeral");
    char want[4096];
    snprintf(want, sizeof want, "%s/.VM.bundle-ephemeral-XXXXXX/VM.bundle", t_tmp);
    vt_json_str(j, "bundle", want, r.out);
    vt_json_str(j, "source_bundle", b, r.out);
    snprintf(want, sizeof want, "%s/.VM.bundle-ephemeral-XXXXXX/VM.bundle/Disk.img", t_tmp);
    vt_json_str(j, "disk_image", want, r.out);
    vt_json_bool(j, "ephemeral", true, r.out);
    proc_result_free(&r);
    free(b);
}

Test(run, dry_run_text, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    struct proc_result r = run_macvm("run", "--dry-run", "--dfu", "--debug-stub", "5555", "--boot-args",
                                     "debug=0x14e -v", b, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(r.out[0] != '{', "text, not JSON: %s", r.out);
    const char *want[] = {"start mode          dfu", "GDB stub on port 5555, 127.0.0.1 only",
                          "NVRAM boot-args     set to \"debug=0x14e -v\"", ("ECID " VT_ECID), "4 GiB (default)",
                          "1920x1200 at 80 ppi", "NAT, MAC chosen by Virtualization"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_expect(strstr(r.out, want[i]) != NULL, "stdout lacks \"%s\": %s", want[i], r.out);
    proc_result_free(&r);
    free(b);
}

/* A dry run writes nothing: not in the bundle, not next to it (no ephemeral clone). */
Test(run, dry_run_writes_nothing, .init = vt_init, .fini = t_tmp_fini)
{
    setenv("MACVM_FAKE_PRIVATE", "1", 1);   /* the fake as a Mac: --debug-stub needs the entitlement */
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *before = vt_snapshot(t_tmp);
    char *spec = vt_spec_file("spec.txt");
    const char *sets[][4] = {{"--ephemeral", NULL}, {"--save-on-stop", "--audio", NULL},
                             {"--debug-stub", "--dfu", NULL}, {NULL}};
    for (int i = 0; i < 4; i++) {
        struct proc_result r = vt_run_with(vt_fake(), vt_dry_json, sets[i], b);
        cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
        proc_result_free(&r);
        r = vt_run_with(t_env_or("MACVM_BIN", "./macvm"), vt_dry_json, sets[i], b);
        cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
        proc_result_free(&r);
    }
    cr_expect(!vt_exists(spec), "a dry run called the bridge");
    vt_expect_unchanged(t_tmp, before, "dry runs");
    free(spec);
    free(b);
}

/* Each option `macvm help run` lists is exercised in the tests above. */
Test(run, every_option_of_help_run_is_tested)
{
    struct proc_result r = run_macvm("help", "run", NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    int found = 0;
    for (const char *p = r.out; (p = strstr(p, "\n  --"));) {
        p += 3;
        size_t n = strcspn(p, " =[\n");
        char opt[64];
        snprintf(opt, sizeof opt, "%.*s", (int)n, p);
        bool tested = false;
        for (int i = 0; vt_run_options_tested[i]; i++)
            tested |= strcmp(vt_run_options_tested[i], opt) == 0;
        cr_expect(tested, "`macvm help run` lists %s, which no test of test_run.c exercises", opt);
        found++;
    }
    cr_expect(found >= 16, "found only %d options in: %s", found, r.out);
    proc_result_free(&r);
}

/* ------------------- what the bridge receives ------------------- */

Test(run, bridge_gets_defaults, .init = vt_init, .fini = t_tmp_fini)
{
    free(vt_log_tool(t_tmp));
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    static const char *const none[] = {NULL};
    vt_bridge_gets_dry_run(b, none);
    free(b);
}

Test(run, bridge_gets_config_plist_values, .init = vt_init, .fini = t_tmp_fini)
{
    free(vt_log_tool(t_tmp));
    char *b = vt_bundle(t_tmp, "Configured.bundle", "configured", 4 * VT_GIB);
    static const char *const none[] = {NULL};
    vt_bridge_gets_dry_run(b, none);
    free(b);
}

Test(run, bridge_gets_recovery_flags, .init = vt_init, .fini = t_tmp_fini)
{
    free(vt_log_tool(t_tmp));
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    static const char *const opts[] = {"--recovery", "--boot-args", "", "--headless", "--audio",
                                       "--cpus", "3", "--memory", "6G", NULL};
    vt_bridge_gets_dry_run(b, opts);
    free(b);
}

Test(run, bridge_gets_dfu_stub_boot_args, .init = vt_init, .fini = t_tmp_fini)
{
    free(vt_log_tool(t_tmp));
    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    static const char *const opts[] = {"--dfu", "--debug-stub", "5555", "--boot-args", "debug=0x14e -v", NULL};
    vt_bridge_gets_dry_run(b, opts);
    free(b);
}

Test(run, bridge_gets_iboot1_stub_all_interfaces, .init = vt_init, .fini = t_tmp_fini)
{
    free(vt_log_tool(t_tmp));
    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    static const char *const opts[] = {"--iboot-stage1", "--debug-stub", "--debug-stub-all-interfaces", NULL};
    vt_bridge_gets_dry_run(b, opts);
    free(b);
}

Test(run, bridge_gets_iboot2_port_no_log, .init = vt_init, .fini = t_tmp_fini)
{
    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    static const char *const opts[] = {"--iboot-stage2", "--debug-stub=1234", "--no-log", "--memory", "8192M", NULL};
    vt_bridge_gets_dry_run(b, opts);
    free(b);
}

Test(run, bridge_gets_saved_state, .init = vt_init, .fini = t_tmp_fini)
{
    free(vt_log_tool(t_tmp));
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *save = t_path_join(b, "SaveFile.vzvmsave");
    vt_write_text(save, "saved\n");
    static const char *const opts[] = {"--save-on-stop", NULL};
    vt_bridge_gets_dry_run(b, opts);
    free(save);
    free(b);
}

Test(run, bridge_gets_ephemeral, .init = vt_init, .fini = t_tmp_fini)
{
    free(vt_log_tool(t_tmp));
    setenv("MACVM_FAKE_WRITE_DISK", "1", 1);
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    static const char *const opts[] = {"--ephemeral", "--headless", NULL};
    vt_bridge_gets_dry_run(b, opts);
    free(b);
}

/* --------------------------- real runs --------------------------- */

/* A run leaves logs/<start time>/ with run.json (the same description as the
 * dry run, the outcome) and vz.ndjson from the log tool. */
Test(run, a_run_records_run_json_and_its_log, .init = vt_init, .fini = t_tmp_fini)
{
    char *tool = vt_log_tool(t_tmp);
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    struct proc_result dry = run_fake("run", "--dry-run", "--json", "--audio", b, NULL);
    cr_assert_eq(dry.status, 0, "dry run: exit %d; stderr: %s", dry.status, dry.err);
    dry.out[strcspn(dry.out, "\n")] = 0;

    struct proc_result r = run_fake("run", "--audio", b, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char *logs = t_path_join(b, "logs");
    char *dir = vt_only_run(logs);
    cr_expect(strstr(r.err, dir) != NULL, "stderr should say where the log is (%s): %s", dir, r.err);
    char *ndjson = t_path_join(dir, "vz.ndjson"), *stray = t_path_join(dir, "log-stream.stderr");
    char *text = vt_run_json(dir);
    size_t n;
    const struct plist *j = vt_json(text);
    vt_json_str(j, "outcome.result", "guest-stopped", text);
    vt_json_null(j, "outcome.advice", text);
    vt_json_str(j, "log", "vz.ndjson", text);
    vt_json_str(j, "command.0", "run", text);
    vt_json_str(j, "command.1", "--audio", text);
    vt_json_str(j, "command.2", b, text);
    vt_json_str(j, "guest.product_version", "14.5", text);
    vt_json_str(j, "host.os_version", "14.5", text);
    vt_json_bool(j, "spec.audio", true, text);
    char want[16384];
    snprintf(want, sizeof want, "\"spec\":%s,\"host\":", dry.out);
    cr_expect(strstr(text, want) != NULL, "run.json's spec should be the dry run's description.\nrun.json: %s\ndry run: %s",
              text, dry.out);
    char *log = (char *)t_read_file(ndjson, &n);
    cr_expect(strstr(log, "macvm test stand-in") != NULL, "vz.ndjson should hold the log tool's output: %s", log);
    cr_expect(!vt_exists(stray), "an empty log-stream.stderr should be removed");
    char *args_path = t_path_join(t_tmp, "log-args");
    char *args = (char *)t_read_file(args_path, &n);
    cr_expect(strncmp(args, "stream --style ndjson", 21) == 0, "the log tool should run `log stream --style ndjson`: %s",
              args);
    free(args);
    free(args_path);
    free(log);
    free(text);

    /* info lists it */
    proc_result_free(&r);
    r = run_macvm("info", "--json", b, NULL);
    j = vt_expect_json_ok(&r, "info after a run");
    vt_json_str(j, "runs.0.name", strrchr(dir, '/') + 1, r.out);
    vt_json_str(j, "runs.0.outcome", "guest-stopped", r.out);
    proc_result_free(&r);
    proc_result_free(&dry);
    free(stray);
    free(ndjson);
    free(dir);
    free(logs);
    free(b);
    free(tool);
}

Test(run, no_log_still_records_the_run, .init = vt_init, .fini = t_tmp_fini)
{
    free(vt_log_tool(t_tmp));
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    struct proc_result r = run_fake("run", "--no-log", b, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char *logs = t_path_join(b, "logs");
    char *dir = vt_only_run(logs);
    char *ndjson = t_path_join(dir, "vz.ndjson"), *text = vt_run_json(dir);
    const struct plist *j = vt_json(text);
    vt_json_null(j, "log", text);
    vt_json_bool(j, "spec.capture_log", false, text);
    cr_expect(!vt_exists(ndjson), "--no-log: no vz.ndjson");
    char *args = t_path_join(t_tmp, "log-args");
    cr_expect(!vt_exists(args), "--no-log: the log tool must not run");
    free(args);
    free(text);
    free(ndjson);
    free(dir);
    free(logs);
    proc_result_free(&r);
    free(b);
}

/* How each fake outcome ends the command, and what run.json says: 0 only when
 * the guest shut down (or its state was saved). */
Test(run, outcomes_and_exit_codes, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    char *logs = t_path_join(b, "logs");
    struct {
        const char *outcome;
        int exit;
        const char *result;
    } cases[] = {
        {"guest-stopped", 0, "guest-stopped"},
        {"stopped", 130, "forced-stop"},   /* stopped by the host, not shut down by the guest */
        {"saved", 0, "saved"},
        {"interrupted", 130, "interrupted"},
        {"unavailable", EX_UNAVAILABLE, "unavailable"},
        {"error:VZErrorDomain:5:The storage device attachment is invalid.", EX_SOFTWARE, "error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        t_remove_tree(logs);
        setenv("MACVM_FAKE_OUTCOME", cases[i].outcome, 1);
        struct proc_result r = run_fake("run", "--no-log", b, NULL);
        cr_expect_eq(r.status, cases[i].exit, "%s: exit %d, want %d; stderr: %s", cases[i].outcome, r.status,
                     cases[i].exit, r.err);
        char *dir = vt_only_run(logs), *text = vt_run_json(dir);
        const struct plist *j = vt_json(text);
        vt_json_str(j, "outcome.result", cases[i].result, text);
        if (cases[i].exit == EX_SOFTWARE) {
            cr_expect(strstr(r.err, "Disk.img is not a usable disk image") != NULL, "advice for code 5: %s", r.err);
            vt_json_str(j, "outcome.error.domain", "VZErrorDomain", text);
        }
        if (i == 1)
            cr_expect(strstr(r.err, "stopped by force") != NULL, "stderr should say stopped by force: %s", r.err);
        if (i == 3)
            cr_expect(strstr(r.err, "interrupted") != NULL, "stderr should say interrupted: %s", r.err);
        free(text);
        free(dir);
        proc_result_free(&r);
    }
    free(logs);
    free(b);
}

/* A Virtualization error: exit 70, the error and what to do on stderr, both in run.json. */
Test(run, virtualization_error_exits_70_with_advice, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    setenv("MACVM_FAKE_OUTCOME", "error:VZErrorDomain:1:Internal Virtualization error. The virtual machine stopped "
                                 "unexpectedly.", 1);
    struct proc_result r = run_fake("run", "--no-log", b, NULL);
    cr_expect_eq(r.status, EX_SOFTWARE, "exit %d, want 70; stderr: %s", r.status, r.err);
    char want[4096];
    snprintf(want, sizeof want, "macvm: %s: Internal Virtualization error. The virtual machine stopped unexpectedly. "
                                "(VZErrorDomain code 1); ", b);
    cr_expect(strstr(r.err, want) != NULL, "stderr should report the error with the bundle: %s", r.err);
    cr_expect(strstr(r.err, "DiagnosticReports") != NULL, "stderr should say where the crash report is: %s", r.err);
    char *logs = t_path_join(b, "logs");
    char *dir = vt_only_run(logs), *text = vt_run_json(dir);
    const struct plist *j = vt_json(text);
    vt_json_str(j, "outcome.result", "error", text);
    vt_json_str(j, "outcome.error.domain", "VZErrorDomain", text);
    vt_json_uint(j, "outcome.error.code", 1, text);
    vt_json_str(j, "outcome.error.message", "Internal Virtualization error. The virtual machine stopped unexpectedly.",
                text);
    const struct plist *advice = vt_get(j, "outcome.advice");
    cr_expect(advice && advice->type == PLIST_STRING && strstr(r.err, advice->string),
              "run.json should hold the advice stderr shows: %s", text);
    free(text);
    free(dir);
    free(logs);
    proc_result_free(&r);

    /* an error macvm has no advice for still exits 70 */
    setenv("MACVM_FAKE_OUTCOME", "error:NSPOSIXErrorDomain:2:No such file or directory", 1);
    r = run_fake("run", "--no-log", b, NULL);
    cr_expect_eq(r.status, EX_SOFTWARE, "exit %d, want 70; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "No such file or directory (NSPOSIXErrorDomain code 2)\n") != NULL, "stderr: %s", r.err);
    proc_result_free(&r);
    free(b);
}

/* "Failed to lock auxiliary storage" (another app's VM got the lock between
 * macvm's check and the start): the run names who holds it. */
Test(run, lock_error_names_the_holder, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    char *aux = t_path_join(b, "AuxiliaryStorage");
    int fd = open(aux, O_RDONLY);   /* held open, not locked: macvm's own check lets the run start */
    cr_assert(fd >= 0);
    setenv("MACVM_FAKE_OUTCOME", "error:VZErrorDomain:2:Failed to lock auxiliary storage.", 1);
    struct proc_result r = run_fake("run", "--no-log", b, NULL);
    cr_expect_eq(r.status, EX_SOFTWARE, "exit %d; stderr: %s", r.status, r.err);
    char holder[64];
    snprintf(holder, sizeof holder, "AuxiliaryStorage is held by ");
    cr_expect(strstr(r.err, holder) != NULL, "stderr should name the holder: %s", r.err);
    snprintf(holder, sizeof holder, "(pid %ld)", (long)getpid());
    cr_expect(strstr(r.err, holder) != NULL, "stderr should name this test's pid %s: %s", holder, r.err);
    char *logs = t_path_join(b, "logs"), *dir = vt_only_run(logs), *text = vt_run_json(dir);
    const struct plist *held = vt_get(vt_json(text), "outcome.held_by");
    cr_expect(held && held->type == PLIST_STRING && strstr(held->string, holder), "run.json held_by: %s", text);
    close(fd);
    free(text);
    free(dir);
    free(logs);
    free(aux);
    proc_result_free(&r);
    free(b);
}

/* What the user must see while the VM runs: the lldb command, the DFU ECID, the boot-args. */
Test(run, tells_how_to_attach_the_debugger, .init = vt_init, .fini = t_tmp_fini)
{
    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    struct proc_result r = run_fake("run", "--no-log", "--dfu", "--debug-stub", "5555", "--boot-args", "-v", b, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.out, "gdb-remote 127.0.0.1:5555") != NULL, "stdout should give the lldb command: %s", r.out);
    cr_expect(strstr(r.out, "ECID " VT_ECID) != NULL, "stdout should give the DFU ECID: %s", r.out);
    cr_expect(strstr(r.out, "boot-args set to \"-v\"") != NULL, "stdout should say the boot-args: %s", r.out);
    char *logs = t_path_join(b, "logs");
    char *dir = vt_only_run(logs), *text = vt_run_json(dir);
    vt_json_uint(vt_json(text), "outcome.debug_stub_port", 5555, text);
    free(text);
    free(dir);
    free(logs);
    proc_result_free(&r);
    free(b);
}

/* The Linux build: one line, exit 69, nothing written. */
Test(run, linux_build_says_one_line, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    char *before = vt_snapshot(t_tmp);
    const char *sets[][3] = {{NULL}, {"--ephemeral", NULL}, {"--headless", "--no-log", NULL}};
    for (int i = 0; i < 3; i++) {
        struct proc_result r = vt_run_with(t_env_or("MACVM_BIN", "./macvm"), NULL, sets[i], b);
        vt_expect_refusal(&r, EX_UNAVAILABLE, "--dry-run", "./macvm run");
        cr_expect_eq(r.out_len, 0, "stdout should be empty: %s", r.out);
        proc_result_free(&r);
    }
    /* the fake without a host says the same */
    setenv("MACVM_FAKE_HOST", "none", 1);
    char *spec = vt_spec_file("spec.txt");
    struct proc_result r = run_fake("run", b, NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, NULL, "macvm-fake run, no host");
    cr_expect(!vt_exists(spec), "the bridge must not be asked to run");
    proc_result_free(&r);
    vt_expect_unchanged(t_tmp, before, "runs where there is no Virtualization");
    free(spec);
    free(b);
}

Test(run, debug_stub_needs_the_private_entitlement, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    char *spec = vt_spec_file("spec.txt");
    char *before = vt_snapshot(t_tmp);
    struct proc_result r = run_fake("run", "--debug-stub", "5555", b, NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, "com.apple.private.virtualization", "--debug-stub without the entitlement");
    cr_expect(!vt_exists(spec), "the bridge was called");
    proc_result_free(&r);
    r = run_fake("run", "--ephemeral", "--debug-stub", b, NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, "com.apple.private.virtualization", "--ephemeral --debug-stub");
    cr_expect(!vt_exists(spec), "the bridge was called");
    proc_result_free(&r);
    vt_expect_unchanged(t_tmp, before, "refused --debug-stub");
    free(spec);
    free(b);
}

/* The entitlement is checked while the spec is resolved: a dry run on a Mac
 * without it refuses --debug-stub and --serial (69, nothing on stdout), and
 * off a Mac, where only a Mac could tell, the dry run describes them. */
Test(run, private_entitlement_refused_in_the_dry_run, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    static const char *const stub[] = {"--debug-stub", "5555", NULL}, *const serial[] = {"--serial", NULL};
    const char *const *sets[] = {stub, serial};
    static const char *const dry_text[] = {"--dry-run", NULL};
    for (int i = 0; i < 2; i++) {
        for (int json = 0; json < 2; json++) {
            struct proc_result r = vt_run_with(vt_fake(), json ? vt_dry_json : dry_text, sets[i], b);
            vt_expect_refusal(&r, EX_UNAVAILABLE, "com.apple.private.virtualization", sets[i][0]);
            cr_expect(strstr(r.err, sets[i][0]) != NULL, "the refusal should name %s: %s", sets[i][0], r.err);
            cr_expect_eq(r.out_len, 0, "%s: no description on a Mac that refuses it: %s", sets[i][0], r.out);
            proc_result_free(&r);
        }
        struct proc_result r = vt_run_with(t_env_or("MACVM_BIN", "./macvm"), vt_dry_json, sets[i], b);
        const struct plist *j = vt_expect_json_ok(&r, sets[i][0]);
        if (i == 0)
            vt_json_uint(j, "debug_stub.port", 5555, r.out);
        else
            vt_json_str(j, "serial.log", "serial.log", r.out);
        proc_result_free(&r);
        r = vt_run_with(t_env_or("MACVM_BIN", "./macvm"), dry_text, sets[i], b);
        cr_expect_eq(r.status, 0, "./macvm %s --dry-run: exit %d; stderr: %s", sets[i][0], r.status, r.err);
        cr_expect(strstr(r.out, i == 0 ? "GDB stub on port 5555" : "PL011 UART") != NULL, "%s: %s", sets[i][0], r.out);
        proc_result_free(&r);
    }
    free(b);
}

/* A running VM (its AuxiliaryStorage locked): run refuses with 75 and writes nothing. */
Test(run, refuses_a_running_vm, .init = vt_init, .fini = t_tmp_fini)
{
    free(vt_log_tool(t_tmp));
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *aux = t_path_join(b, "AuxiliaryStorage");
    char *spec = vt_spec_file("spec.txt");
    char *before = vt_snapshot(t_tmp);
    int fd = open(aux, O_RDONLY);
    cr_assert(fd >= 0);
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0, "flock: %s", strerror(errno));
    const char *sets[][2] = {{NULL}, {"--ephemeral", NULL}};
    char holder[64];
    snprintf(holder, sizeof holder, "(pid %ld)", (long)getpid());   /* this test holds the lock */
    for (int i = 0; i < 2; i++) {
        struct proc_result r = vt_run_with(vt_fake(), NULL, sets[i], b);
        vt_expect_refusal(&r, EX_TEMPFAIL, b, i ? "--ephemeral on a running VM" : "run on a running VM");
        cr_expect(strstr(r.err, "locked by ") && strstr(r.err, holder), "the refusal should name who holds the "
                  "lock, %s: %s", holder, r.err);
        cr_expect(!vt_exists(spec), "the bridge was called");
        proc_result_free(&r);
    }
    close(fd);
    vt_expect_unchanged(t_tmp, before, "runs of a running VM");
    free(spec);
    free(aux);
    free(b);
}

/* Starts argv (a fake run that lasts, MACVM_FAKE_RUN_SECONDS) with its output
 * in out and err; returns its pid once the bridge runs the VM (spec written). */
static pid_t vt_spawn_until_the_vm_runs(const char *const argv[], const char *spec, const char *out, const char *err)
{
    pid_t pid = vt_spawn(argv, out, err, -1);
    struct timespec tick = {0, 1000 * 1000};
    for (int i = 0; i < 20000 && !vt_exists(spec); i++) {
        int st;
        cr_assert_neq(waitpid(pid, &st, WNOHANG), pid, "the %s ended before the bridge ran the VM", argv[1]);
        nanosleep(&tick, NULL);
    }
    cr_assert(vt_exists(spec), "the bridge never ran the VM");
    return pid;
}

/* Starts `run OPTS BUNDLE` through the fake for MACVM_FAKE_RUN_SECONDS=30,
 * waits until the bridge runs the VM, sends sig, and returns the exit status. */
static int vt_signal_during_run(const char *const *opts, const char *bundle, int sig, bool *signaled, char **errtext)
{
    setenv("MACVM_FAKE_RUN_SECONDS", "30", 1);
    char *spec = vt_spec_file("spec.txt");
    char *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    const char *argv[T_MAX_ARGS];
    int n = 0;
    argv[n++] = vt_fake();
    argv[n++] = "run";
    for (int i = 0; opts[i]; i++)
        argv[n++] = opts[i];
    argv[n++] = bundle;
    argv[n] = NULL;
    pid_t pid = vt_spawn_until_the_vm_runs(argv, spec, out, err);
    struct timespec settle = {0, 200 * 1000 * 1000};   /* the "VM" is up */
    nanosleep(&settle, NULL);
    cr_assert_eq(kill(pid, sig), 0);
    int status = vt_wait(pid, signaled);
    size_t len;
    *errtext = (char *)t_read_file(err, &len);
    free(out);
    free(err);
    free(spec);
    return status;
}

/* Ctrl-C while the VM runs: the bridge stops it; exit 130; run.json says interrupted. */
Test(run, sigint_while_running_exits_130, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    static const char *const opts[] = {"--no-log", NULL};
    bool signaled;
    char *err;
    int status = vt_signal_during_run(opts, b, SIGINT, &signaled, &err);
    cr_expect(!signaled && status == 130, "exit %d%s, want 130; stderr: %s", status, signaled ? " (killed)" : "", err);
    char *logs = t_path_join(b, "logs");
    char *dir = vt_only_run(logs), *text = vt_run_json(dir);
    vt_json_str(vt_json(text), "outcome.result", "interrupted", text);
    free(text);
    free(dir);
    free(logs);
    free(err);
    free(b);
}

/* A run.json that cannot be written (here a folder stands in its place)
 * costs the record, not the run: the warning names the file and what
 * 'macvm feedback' makes of the run (with --no-log, no log to report from). */
Test(run, a_record_that_cannot_be_written_is_named, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    setenv("MACVM_FAKE_RUN_SECONDS", "1", 1);
    char *spec = vt_spec_file("spec.txt");
    char *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    const char *argv[] = {vt_fake(), "run", "--no-log", b, NULL};
    pid_t pid = vt_spawn_until_the_vm_runs(argv, spec, out, err);
    char *logs = t_path_join(b, "logs");
    char *dir = vt_only_run(logs), *json = t_path_join(dir, "run.json");
    cr_assert_eq(mkdir(json, 0755), 0, "mkdir %s: %s", json, strerror(errno));
    bool signaled;
    int status = vt_wait(pid, &signaled);
    size_t len;
    char *text = (char *)t_read_file(err, &len);
    cr_expect(!signaled && status == 0, "exit %d, want 0: the VM ran; stderr: %s", status, text);
    cr_expect(strstr(text, json) && strstr(text, "'macvm feedback' reports it as not recorded"),
              "the warning should name %s and say what feedback makes of the run: %s", json, text);
    cr_expect(strstr(text, "log beside it") == NULL, "a log promised with --no-log: %s", text);
    cr_expect(strstr(text, "run.json: cannot write run.json") == NULL, "said twice: %s", text);
    free(text);
    free(json);
    free(dir);
    free(logs);
    free(err);
    free(out);
    free(spec);
    free(b);
}

/* SIGTERM (kill, logout) while the VM runs is an interrupt too, not a crash. */
Test(run, sigterm_while_running_exits_130, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    static const char *const opts[] = {"--no-log", NULL};
    bool signaled;
    char *err;
    int status = vt_signal_during_run(opts, b, SIGTERM, &signaled, &err);
    cr_expect(!signaled && status == 130, "exit %d%s, want 130; stderr: %s", status, signaled ? " (killed)" : "", err);
    char *logs = t_path_join(b, "logs");
    char *dir = vt_only_run(logs);
    char *json = t_path_join(dir, "run.json");
    cr_expect(vt_exists(json), "the run should still be recorded");
    free(json);
    free(dir);
    free(logs);
    free(err);
    free(b);
}

/* ------------------------- ephemeral runs ------------------------- */

/* A source bundle with everything a bundle can hold. */
static char *vt_ephemeral_source(void)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 8 * VT_GIB);
    char *disk = t_path_join(b, "Disk.img");
    vt_fill(disk, 0, 64 * VT_KIB, 1);
    vt_fill(disk, 3 * VT_GIB, 64 * VT_KIB, 2);
    char *save = t_path_join(b, "SaveFile.vzvmsave"), *logs = t_path_join(b, "logs");
    vt_write_text(save, "saved state\n");
    vt_mkdir(logs);
    free(logs);
    free(save);
    free(disk);
    return b;
}

/* Expects no .VM.bundle-ephemeral-* left next to the bundle. */
static void vt_expect_no_clone(const char *what)
{
    char *left = vt_find_prefix(t_tmp, ".VM.bundle-ephemeral-");
    cr_expect(left == NULL, "%s: the disposable clone %s was left behind", what, left ? left : "");
    free(left);
}

Test(ephemeral, leaves_the_source_untouched, .init = vt_init, .fini = t_tmp_fini)
{
    char *tool = vt_log_tool(t_tmp);
    setenv("MACVM_FAKE_WRITE_DISK", "1", 1);
    char *b = vt_ephemeral_source();
    char *spec = vt_spec_file("spec.txt");
    char *before = vt_snapshot(b);
    struct proc_result r = run_fake("run", "--ephemeral", b, NULL);
    cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.out, "disposable") != NULL, "stdout should say the run is disposable: %s", r.out);
    vt_expect_unchanged(b, before, "an ephemeral run");
    vt_expect_no_clone("after the run");

    struct vt_spec s;
    cr_assert(vt_spec_load(&s, spec), "the bridge was not called");
    cr_expect_str_eq(vt_spec_get(&s, "ephemeral"), "1");
    cr_expect_str_eq(vt_spec_get(&s, "disk_exists"), "1", "the bridge's bundle should hold Disk.img");
    cr_expect_str_eq(vt_spec_get(&s, "source_bundle"), b);
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s/.VM.bundle-ephemeral-", t_tmp);
    const char *clone = vt_spec_get(&s, "bundle");
    cr_expect(strncmp(clone, prefix, strlen(prefix)) == 0 && strlen(clone) == strlen(prefix) + 6 + strlen("/VM.bundle") &&
                  strcmp(clone + strlen(clone) - strlen("/VM.bundle"), "/VM.bundle") == 0,
              "the bridge should run %sXXXXXX/VM.bundle, got %s", prefix, clone);
    char disk[4200];
    snprintf(disk, sizeof disk, "%s/Disk.img", clone);
    cr_expect_str_eq(vt_spec_get(&s, "disk_image"), disk);
    cr_expect_str_eq(vt_spec_get(&s, "restore_saved_state"), "1", "the clone's saved state is restored");
    vt_spec_free(&s);

    /* the log goes next to the bundle */
    char *elogs = t_path_join(t_tmp, "VM.bundle.ephemeral-logs");
    char *dir = vt_only_run(elogs);
    char *ndjson = t_path_join(dir, "vz.ndjson"), *text = vt_run_json(dir);
    const struct plist *j = vt_json(text);
    vt_json_bool(j, "spec.ephemeral", true, text);
    vt_json_str(j, "spec.source_bundle", b, text);
    vt_json_str(j, "outcome.result", "guest-stopped", text);
    cr_expect(vt_exists(ndjson), "the log should be recorded next to the bundle too");
    cr_expect(strstr(r.err, dir) != NULL, "stderr should say where the log is (%s): %s", dir, r.err);
    /* only the bundle, its ephemeral logs and the test's own files are next to it */
    cr_expect_eq(vt_count_entries(t_tmp), 5, "unexpected entries next to the bundle");
    free(text);
    free(ndjson);
    free(dir);
    free(elogs);
    proc_result_free(&r);
    free(spec);
    free(b);
    free(tool);
}

static void vt_ephemeral_ends(const char *outcome, int want)
{
    setenv("MACVM_FAKE_WRITE_DISK", "1", 1);
    setenv("MACVM_FAKE_OUTCOME", outcome, 1);
    char *b = vt_ephemeral_source();
    char *spec = vt_spec_file("spec.txt");
    char *before = vt_snapshot(b);
    struct proc_result r = run_fake("run", "--ephemeral", "--no-log", b, NULL);
    cr_expect_eq(r.status, want, "%s: exit %d, want %d; stderr: %s", outcome, r.status, want, r.err);
    struct vt_spec s;
    cr_expect(vt_spec_load(&s, spec), "the bridge was not called");
    vt_spec_free(&s);
    vt_expect_unchanged(b, before, outcome);
    vt_expect_no_clone(outcome);
    proc_result_free(&r);
    free(spec);
    free(b);
}

Test(ephemeral, clone_removed_after_an_error, .init = vt_init, .fini = t_tmp_fini)
{
    vt_ephemeral_ends("error:VZErrorDomain:1:Internal Virtualization error", EX_SOFTWARE);
}

Test(ephemeral, clone_removed_when_interrupted, .init = vt_init, .fini = t_tmp_fini)
{
    vt_ephemeral_ends("interrupted", 130);
}

Test(ephemeral, clone_removed_after_a_saved_state, .init = vt_init, .fini = t_tmp_fini)
{
    vt_ephemeral_ends("saved", 0);
}

/* Ctrl-C while the disposable clone is copied: exit 130, no clone left, the
 * bridge never called, the source untouched. */
Test(ephemeral, interrupted_while_cloning, .init = vt_init, .fini = t_tmp_fini, .timeout = 300)
{
    VT_SKIP_ON_COPY_ON_WRITE();
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 0);
    char *disk = t_path_join(b, "Disk.img");
    char *spec = vt_spec_file("spec.txt");
    char *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    uint64_t data = 256 * VT_MIB;
    for (int attempt = 0; attempt < 4; attempt++, data *= 2) {
        vt_sparse(disk, 8 * VT_GIB);
        vt_fill(disk, 0, data, (unsigned)attempt + 20);
        unlink(spec);
        char *before = vt_snapshot(b);
        const char *argv[] = {vt_fake(), "run", "--ephemeral", "--no-log", b, NULL};
        pid_t pid = vt_spawn(argv, out, err, -1);
        /* wait for the copy to start: .VM.bundle-ephemeral-XXXXXX/VM.bundle/ holds a file */
        char *tmp = NULL, *clone = NULL;
        int status = -1;
        bool signaled = false, running = true;
        struct timespec tick = {0, 500 * 1000};
        for (int i = 0; i < 120000 && running; i++) {
            if (!tmp)
                tmp = vt_find_prefix(t_tmp, ".VM.bundle-ephemeral-");
            if (tmp && !clone)
                clone = t_path_join(tmp, "VM.bundle");
            if (clone && vt_count_entries(clone) > 0)
                break;
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                running = false;
                signaled = WIFSIGNALED(st);
                status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
            nanosleep(&tick, NULL);
        }
        if (running) {
            cr_assert_eq(kill(pid, SIGINT), 0);
            status = vt_wait(pid, &signaled);
        }
        free(tmp);
        free(clone);
        struct vt_spec s;
        if (vt_spec_load(&s, spec)) {   /* the copy finished first: the run happened; more data */
            vt_spec_free(&s);
            free(before);
            continue;
        }
        size_t n;
        char *errtext = (char *)t_read_file(err, &n);
        cr_expect(!signaled, "macvm was killed by the signal instead of handling it (status %d)", status);
        cr_expect_eq(status, 130, "exit %d, want 130; stderr: %s", status, errtext);
        vt_expect_no_clone("interrupted while cloning");
        vt_expect_unchanged(b, before, "interrupted ephemeral run");
        free(errtext);
        free(out);
        free(err);
        free(spec);
        free(disk);
        free(b);
        return;
    }
    cr_assert_fail("the clone of %llu MiB always finished before SIGINT arrived", (unsigned long long)(data >> 20));
}

/* `macvm run --ephemeral VM.bundle/` (a shell completes the slash): the same
 * promise, the source is never written; the log goes next to it. */
Test(ephemeral, trailing_slash_leaves_the_source_untouched, .init = vt_init, .fini = t_tmp_fini)
{
    setenv("MACVM_FAKE_WRITE_DISK", "1", 1);
    char *b = vt_ephemeral_source();
    char slash[4096];
    snprintf(slash, sizeof slash, "%s/", b);
    char *before = vt_snapshot(b);
    struct proc_result r = run_fake("run", "--ephemeral", "--no-log", slash, NULL);
    cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    vt_expect_unchanged(b, before, "an ephemeral run of VM.bundle/");
    vt_expect_no_clone("VM.bundle/");
    char *elogs = t_path_join(t_tmp, "VM.bundle.ephemeral-logs");
    cr_expect(vt_exists(elogs), "the log should go to %s; stderr: %s", elogs, r.err);
    free(elogs);
    proc_result_free(&r);
    free(b);
}

/* What a disposable run killed with kill -9 left (.NAME-ephemeral-XXXXXX,
 * unlocked): the next disposable run names it with the rm -r that removes it
 * (it may hold a whole disk's data), runs, and leaves it alone. */
Test(ephemeral, names_what_a_killed_run_left, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_ephemeral_source();
    char *left = t_path_join(t_tmp, ".VM.bundle-ephemeral-Ab12Cd");
    vt_mkdir(left);
    char *inner = t_path_join(left, "VM.bundle"), *part = t_path_join(inner, "Disk.img");
    vt_mkdir(inner);
    vt_write_text(part, "the guest's changes\n");
    struct proc_result r = run_fake("run", "--ephemeral", "--no-log", b, NULL);
    cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char want[4200];
    snprintf(want, sizeof want, "rm -r %s", left);
    cr_expect(strstr(r.err, want) != NULL, "stderr should name %s with its rm -r: %s", left, r.err);
    cr_expect(vt_exists(part), "the leftover is the user's to remove");
    proc_result_free(&r);
    free(part);
    free(inner);
    free(left);
    free(b);
}

/* Something other than a folder where the runs' records go (logs/ in the
 * bundle, NAME.ephemeral-logs beside it): the run goes on without a record,
 * and the warning names what is in the way and what to do; it is not touched. */
Test(ephemeral, a_file_where_the_run_records_go_is_named, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", VT_GIB);
    char *logs = t_path_join(b, "logs"), *elogs = t_path_join(t_tmp, "VM.bundle.ephemeral-logs");
    vt_write_text(logs, "my notes\n");
    cr_assert_eq(symlink("nowhere", elogs), 0);
    const char *cases[][2] = {
        {NULL, "logs is a regular file, not a folder; move it aside"},
        {"--ephemeral", "VM.bundle.ephemeral-logs is a symbolic link, not a folder; move it aside"},
    };
    for (int i = 0; i < 2; i++) {
        struct proc_result r = cases[i][0] ? run_fake("run", "--no-log", cases[i][0], b, NULL)
                                           : run_fake("run", "--no-log", b, NULL);
        cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
        cr_expect(strstr(r.err, cases[i][1]) != NULL, "stderr should say \"%s\": %s", cases[i][1], r.err);
        proc_result_free(&r);
    }
    size_t n;
    char *text = (char *)t_read_file(logs, &n);
    cr_expect_str_eq(text, "my notes\n", "the file in the way must stay as it was");
    char target[64] = "";
    cr_expect(readlink(elogs, target, sizeof target - 1) == 7 && strcmp(target, "nowhere") == 0, "the link must stay");
    free(text);
    free(elogs);
    free(logs);
    free(b);
}

/* Output to a reader that went away (`macvm run --ephemeral | head -1`):
 * writes fail, but macvm is not killed half way (SIGPIPE): the run ends as
 * it would have, its clone removed, and the exit says the output was lost. */
Test(ephemeral, a_reader_that_goes_away_never_leaves_the_clone, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    setenv("MACVM_FAKE_RUN_SECONDS", "1", 1);
    char *b = vt_ephemeral_source();
    char *before = vt_snapshot(b);
    vt_expect_survives_a_closed_reader((const char *[]){vt_fake(), "run", "--ephemeral", "--headless", "--no-log", b,
                                                        NULL});
    vt_expect_no_clone("output to a closed pipe");
    vt_expect_unchanged(b, before, "a run whose output went nowhere");
    free(b);
}

/* Ctrl-C or SIGTERM while the disposable clone runs: exit 130, the clone
 * removed, the source untouched. */
static void vt_ephemeral_signal(int sig)
{
    setenv("MACVM_FAKE_WRITE_DISK", "1", 1);
    char *b = vt_ephemeral_source();
    char *before = vt_snapshot(b);
    static const char *const opts[] = {"--ephemeral", "--no-log", NULL};
    bool signaled;
    char *err;
    int status = vt_signal_during_run(opts, b, sig, &signaled, &err);
    cr_expect(!signaled && status == 130, "exit %d%s, want 130; stderr: %s", status, signaled ? " (killed)" : "", err);
    vt_expect_no_clone(sig == SIGINT ? "SIGINT during the run" : "SIGTERM during the run");
    vt_expect_unchanged(b, before, "an interrupted ephemeral run");
    free(err);
    free(b);
}

Test(ephemeral, sigint_while_running_removes_the_clone, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    vt_ephemeral_signal(SIGINT);
}

Test(ephemeral, sigterm_while_running_removes_the_clone, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    vt_ephemeral_signal(SIGTERM);
}

/* The disk fills while the disposable clone is made (RLIMIT_FSIZE): exit 74,
 * no clone, no run, the source untouched. */
Test(ephemeral, disk_full_while_cloning, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    VT_SKIP_ON_COPY_ON_WRITE();
    char *b = vt_ephemeral_source();
    char *disk = t_path_join(b, "Disk.img");
    vt_fill(disk, 0, 4 * VT_MIB, 3);
    char *spec = vt_spec_file("spec.txt");
    char *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    char *before = vt_snapshot(b);
    const char *argv[] = {vt_fake(), "run", "--ephemeral", "--no-log", b, NULL};
    bool signaled;
    int status = vt_wait(vt_spawn(argv, out, err, 2 * VT_MIB), &signaled);
    size_t n;
    char *errtext = (char *)t_read_file(err, &n);
    cr_expect(!signaled, "macvm was killed (status %d); stderr: %s", status, errtext);
    cr_expect_eq(status, EX_IOERR, "exit %d, want 74; stderr: %s", status, errtext);
    cr_expect(strstr(errtext, "Disk.img") != NULL, "stderr should name Disk.img: %s", errtext);
    cr_expect(!vt_exists(spec), "the bridge must not run without a complete clone");
    vt_expect_no_clone("disk full while cloning");
    char *elogs = t_path_join(t_tmp, "VM.bundle.ephemeral-logs");
    cr_expect(!vt_exists(elogs), "no run happened, so no run record");
    vt_expect_unchanged(b, before, "an ephemeral run on a full disk");
    free(elogs);
    free(errtext);
    free(out);
    free(err);
    free(spec);
    free(disk);
    free(b);
}

/* `cd VM.bundle && macvm run --ephemeral .` and `run --ephemeral VM.bundle/.`
 * name the same bundle: the run works as for VM.bundle, and nothing is
 * written into the source (no temporary folder in it either). */
Test(ephemeral, dot_paths_leave_the_source_untouched, .init = vt_init, .fini = t_tmp_fini)
{
    char fake[PATH_MAX];
    cr_assert(realpath(vt_fake(), fake), "realpath %s: %s", vt_fake(), strerror(errno));
    setenv("MACVM_FAKE_WRITE_DISK", "1", 1);
    char *b = vt_ephemeral_source();
    char *before = vt_snapshot(b);
    const char *cwd[] = {b, t_tmp};
    const char *arg[] = {".", "VM.bundle/."};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(chdir(cwd[i]), 0);
        struct proc_result r = run_argv((const char *[]){fake, "run", "--ephemeral", "--no-log", arg[i], NULL});
        cr_expect_eq(r.status, 0, "run --ephemeral %s: exit %d; stderr: %s", arg[i], r.status, r.err);
        proc_result_free(&r);
        char *inside = vt_find_prefix(b, ".VM.bundle");
        cr_expect(inside == NULL, "run --ephemeral %s left %s inside the source", arg[i], inside ? inside : "");
        free(inside);
        char *next = vt_find_prefix(t_tmp, ".VM.bundle-ephemeral-");
        cr_expect(next == NULL, "run --ephemeral %s left the clone %s", arg[i], next ? next : "");
        free(next);
    }
    vt_expect_unchanged(b, before, "ephemeral runs of . and VM.bundle/.");
    free(b);
}

/* Ctrl-C in the moment between the finished clone and the VM's start (while
 * the log capture starts): the disposable clone must still go. */
Test(ephemeral, sigint_before_the_vm_starts_removes_the_clone, .init = vt_init, .fini = t_tmp_fini,
     .timeout = 60)
{
    free(vt_log_tool(t_tmp));
    char *args = t_path_join(t_tmp, "log-args");
    char *b = vt_ephemeral_source();
    char *before = vt_snapshot(b);
    char *spec = vt_spec_file("spec.txt");
    char *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    const char *argv[] = {vt_fake(), "run", "--ephemeral", b, NULL};
    pid_t pid = vt_spawn(argv, out, err, -1);
    struct timespec tick = {0, 200 * 1000};
    for (int i = 0; i < 100000 && !vt_exists(args); i++) {
        int st;
        cr_assert_neq(waitpid(pid, &st, WNOHANG), pid, "the run ended before the log capture started");
        nanosleep(&tick, NULL);
    }
    cr_assert(vt_exists(args), "the log capture never started");
    cr_assert_eq(kill(pid, SIGINT), 0);
    bool signaled;
    int status = vt_wait(pid, &signaled);
    size_t n;
    char *errtext = (char *)t_read_file(err, &n);
    cr_expect(!signaled && status == 130, "exit %d%s, want 130; stderr: %s", status,
              signaled ? " (killed by SIGINT)" : "", errtext);
    vt_expect_no_clone("SIGINT while the log capture starts");
    vt_expect_unchanged(b, before, "an ephemeral run interrupted before the VM started");
    free(errtext);
    free(out);
    free(err);
    free(spec);
    free(b);
    free(args);
}

/* Options that contradict each other are refused before the bundle is even
 * looked at, and a bundle whose name starts with digits is not a port. */
Test(run, contradictions_come_before_the_bundle, .init = vt_init, .fini = t_tmp_fini)
{
    struct proc_result r = run_macvm("run", "--dry-run", "--dfu", "--recovery", "/no/such/bundle", NULL);
    cr_expect_eq(r.status, EX_USAGE, "--dfu --recovery on a missing bundle: exit %d; %s", r.status, r.err);
    proc_result_free(&r);
    r = run_macvm("run", "--dry-run", "--ephemeral", "--save-on-stop", "/no/such/bundle", NULL);
    cr_expect_eq(r.status, EX_USAGE, "--ephemeral --save-on-stop: exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.err, "--ephemeral"), "%s", r.err);
    proc_result_free(&r);
    r = run_macvm("run", "--dry-run", "--debug-stub", "2024.bundle", NULL);
    cr_expect_eq(r.status, EX_NOINPUT, "2024.bundle is a bundle, not a port: exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.err, "2024.bundle"), "%s", r.err);
    proc_result_free(&r);
}

/* Replaces the first from in path's text with to (the test's own copy of a bundle file). */
static void vt_replace_in_file(const char *path, const char *from, const char *to)
{
    size_t len;
    char *text = (char *)t_read_file(path, &len);
    cr_assert(text != NULL, "read %s", path);
    char *at = strstr(text, from);
    cr_assert(at != NULL, "%s has no %s", path, from);
    size_t head = (size_t)(at - text), nf = strlen(from), nt = strlen(to);
    char *out = malloc(len - nf + nt);
    cr_assert(out != NULL);
    memcpy(out, text, head);
    memcpy(out + head, to, nt);
    memcpy(out + head + nt, at + nf, len - head - nf);
    cr_assert_eq(t_write_file(path, out, len - nf + nt), 0);
    free(out);
    free(text);
}

/* A saved state restores only into the configuration that saved it: a run
 * that differs from the saving run (as its run.json recorded it) in anything
 * the configuration holds would fail the restore, which costs the state, so it
 * is refused up front (78), the file left byte for byte; the same
 * configuration restores, and a part an older record lacks is not held
 * against the run. */
Test(run, saved_state_needs_the_configuration_that_saved_it, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 1ull << 30);
    char *config = t_path_join(b, "Config.plist"), *folder = t_path_join(t_tmp, "shared");
    vt_mkdir(folder);
    setenv("MACVM_FAKE_OUTCOME", "saved", 1);
    struct proc_result r = run_fake("run", "--headless", "--no-log", "--save-on-stop", b, NULL);
    cr_assert_eq(r.status, 0, "saving run: exit %d; %s", r.status, r.err);
    proc_result_free(&r);
    unsetenv("MACVM_FAKE_OUTCOME");
    char *save = t_path_join(b, "SaveFile.vzvmsave");   /* what the real bridge would have written */
    vt_fill(save, 0, 64 * 1024, 7);
    uint64_t hash = vt_hash_file(save);
    static const struct { const char *option, *value, *names; } options[] = {
        {"--cpus", "2", "CPU count"},       {"--memory", "4096M", "memory size"},
        {"--audio", NULL, "audio"},         {"--panic", "halt", "panic action"},
        {"--console", NULL, "console"},     {"--serial", NULL, "serial"},
        {"--share", NULL, "shared folders"}, {"--disk-cache", "uncached", "disk modes"},
        {"--disk-sync", "none", "disk modes"}, {"--debug-stub", NULL, "debug stub"},
    };
    for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
        const char *value = strcmp(options[i].option, "--share") == 0 ? folder : options[i].value;
        r = value ? run_fake("run", "--dry-run", options[i].option, value, b, NULL)
                  : run_fake("run", "--dry-run", options[i].option, b, NULL);
        vt_expect_refusal(&r, EX_CONFIG, "SaveFile.vzvmsave", options[i].option);
        cr_expect(strstr(r.err, options[i].names) || strstr(r.err, options[i].option + 2),
                  "%s: names what differs: %s", options[i].option, r.err);
        proc_result_free(&r);
        cr_expect_eq(vt_hash_file(save), hash, "%s: the saved state is byte for byte kept", options[i].option);
    }
    r = run_fake("run", "--dry-run", "--cpus", "2", b, NULL);
    cr_expect(strstr(r.err, "--cpus 4 --memory 8192M") && strstr(r.err, "run.json"),
              "names the configuration that restores and where it is recorded: %s", r.err);
    proc_result_free(&r);
    static const struct { const char *from, *to, *names; } edits[] = {
        {"<integer>2560</integer>", "<integer>1920</integer>", "display"},
        {"<integer>1600</integer>", "<integer>1200</integer>", "display"},
        {"<integer>144</integer>", "<integer>80</integer>", "display"},
        {"8a:2c:11:de:ad:01", "8a:2c:11:de:ad:02", "MAC address"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        vt_replace_in_file(config, edits[i].from, edits[i].to);
        r = run_fake("run", "--dry-run", b, NULL);
        vt_expect_refusal(&r, EX_CONFIG, edits[i].names, edits[i].to);
        proc_result_free(&r);
        vt_replace_in_file(config, edits[i].to, edits[i].from);
        cr_expect_eq(vt_hash_file(save), hash, "Config.plist %s: the saved state is kept", edits[i].to);
    }
    r = run_fake("run", "--dry-run", "--json", b, NULL);
    cr_expect_eq(r.status, 0, "the same configuration restores: exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.out, "\"restore_saved_state\":true"), "%s", r.out);
    proc_result_free(&r);
    /* A record from before macvm kept the audio device: unknown, so not a reason to refuse. */
    char *logs = t_path_join(b, "logs"), *dir = vt_find_prefix(logs, ""), *record = t_path_join(dir, "run.json");
    vt_replace_in_file(record, "\"audio\":false,", "");
    r = run_fake("run", "--dry-run", "--audio", "--json", b, NULL);
    cr_expect_eq(r.status, 0, "a part the record lacks passes: exit %d; %s", r.status, r.err);
    proc_result_free(&r);
    cr_expect_eq(vt_hash_file(save), hash, "the saved state is kept");
    free(record);
    free(dir);
    free(logs);
    free(save);
    free(folder);
    free(config);
    free(b);
}

/* The window's Quit saves the state where the host can (macOS 14+), as
 * Apple's sample does; not headless (no window), not for a disposable run. */
Test(run, quit_saves_where_the_host_can, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 1ull << 30);
    static const struct { const char *os, *flag; bool want; } cases[] = {
        {"14.5", NULL, true}, {"14.5", "--headless", false}, {"14.5", "--ephemeral", false}, {"13.6", NULL, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        setenv("MACVM_FAKE_OS", cases[i].os, 1);
        struct proc_result r = cases[i].flag ? run_fake("run", "--dry-run", "--json", cases[i].flag, b, NULL)
                                             : run_fake("run", "--dry-run", "--json", b, NULL);
        cr_expect_eq(r.status, 0, "%s %s: %s", cases[i].os, cases[i].flag ? cases[i].flag : "", r.err);
        cr_expect(strstr(r.out, cases[i].want ? "\"save_on_quit\":true" : "\"save_on_quit\":false"),
                  "macOS %s %s: %s", cases[i].os, cases[i].flag ? cases[i].flag : "", r.out);
        proc_result_free(&r);
    }
    free(b);
}

/* ------------------------- the bundle lock, links, FIFOs ------------------------- */

/* A disposable run of a bundle whose Disk.img links to the user's real disk
 * elsewhere: the guest writes its clone, never a byte of that disk. */
Test(ephemeral, never_writes_the_disk_a_link_points_to, .init = vt_init, .fini = t_tmp_fini, .timeout = 30)
{
    setenv("MACVM_FAKE_WRITE_DISK", "1", 1);
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 0);
    char *real = t_path_join(t_tmp, "real-disk.img"), *disk = t_path_join(b, "Disk.img");
    vt_sparse(real, 64 * VT_MIB);
    cr_assert_eq(symlink(real, disk), 0);
    uint64_t h = vt_hash_file(real);
    struct proc_result r = run_argv((const char *[]){vt_fake(), "run", "--ephemeral", "--no-log", b, NULL});
    cr_expect_eq(r.status, 0, "run --ephemeral: exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(vt_hash_file(real), h, "the disposable run wrote the disk Disk.img links to");
    proc_result_free(&r);
    free(disk);
    free(real);
    free(b);
}

/* Starts a fake run of bundle that lasts until SIGINT; returns its pid once the "VM" runs. */
static pid_t vt_start_long_run(const char *bundle, const char *spec)
{
    setenv("MACVM_FAKE_RUN_SECONDS", "30", 1);
    char *out = t_path_join(t_tmp, "long-out.txt"), *err = t_path_join(t_tmp, "long-err.txt");
    const char *argv[] = {vt_fake(), "run", "--no-log", bundle, NULL};
    pid_t pid = vt_spawn_until_the_vm_runs(argv, spec, out, err);
    unsetenv("MACVM_FAKE_RUN_SECONDS");
    free(out);
    free(err);
    return pid;
}

/* macvm's lock: a second run, a disposable run and a clone of a bundle macvm
 * runs are refused, naming the macvm that runs it. */
Test(run, a_running_bundle_is_busy_for_runs_and_clones, .init = vt_init, .fini = t_tmp_fini, .timeout = 30)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *spec = vt_spec_file("spec.txt"), *dst = t_path_join(t_tmp, "Copy.bundle");
    pid_t pid = vt_start_long_run(b, spec);
    char want[64];
    snprintf(want, sizeof want, "busy: macvm (PID %d) is running it", (int)pid);
    struct proc_result r[3] = {
        run_argv((const char *[]){vt_fake(), "run", "--no-log", b, NULL}),
        run_argv((const char *[]){vt_fake(), "run", "--ephemeral", "--no-log", b, NULL}),
        run_macvm("clone", b, dst, NULL),
    };
    static const char *const what[] = {"a second run", "a disposable run", "a clone"};
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(r[i].status, EX_TEMPFAIL, "%s: exit %d, want 75; stderr: %s", what[i], r[i].status, r[i].err);
        cr_expect(strstr(r[i].err, want) != NULL && count_lines(r[i].err) == 1, "%s: one line with \"%s\": %s",
                  what[i], want, r[i].err);
        proc_result_free(&r[i]);
    }
    cr_expect(!vt_exists(dst), "the clone of a running VM was made");
    kill(pid, SIGINT);
    vt_wait(pid, NULL);
    free(dst);
    free(spec);
    free(b);
}

/* A disposable run holds its bundle's lock, exclusively, for the whole run:
 * its VM has the bundle's ECID and MAC address, so a run, a second disposable
 * run and a clone of the bundle are refused, in one line naming the bundle
 * once; when it ends, a run works again. */
Test(run, a_disposable_run_keeps_its_bundle_busy, .init = vt_init, .fini = t_tmp_fini, .timeout = 30)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *spec = vt_spec_file("spec.txt"), *dst = t_path_join(t_tmp, "Copy.bundle");
    char *out = t_path_join(t_tmp, "long-out.txt"), *err = t_path_join(t_tmp, "long-err.txt");
    setenv("MACVM_FAKE_RUN_SECONDS", "30", 1);
    pid_t pid = vt_spawn_until_the_vm_runs((const char *[]){vt_fake(), "run", "--ephemeral", "--no-log", b, NULL}, spec,
                                           out, err);
    unsetenv("MACVM_FAKE_RUN_SECONDS");
    unlink(spec);
    char want[300];
    snprintf(want, sizeof want, "macvm: %s: busy: macvm (PID %d) is running it", b, (int)pid);
    struct proc_result r[3] = {
        run_argv((const char *[]){vt_fake(), "run", "--no-log", b, NULL}),
        run_argv((const char *[]){vt_fake(), "run", "--ephemeral", "--no-log", b, NULL}),
        run_macvm("clone", b, dst, NULL),
    };
    static const char *const what[] = {"a run", "a second disposable run", "a clone"};
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(r[i].status, EX_TEMPFAIL, "%s: exit %d, want 75; stderr: %s", what[i], r[i].status, r[i].err);
        const char *at = strstr(r[i].err, b);
        cr_expect(count_lines(r[i].err) == 1 && at && !strstr(at + strlen(b), b), "%s: one line naming %s once: %s",
                  what[i], b, r[i].err);
        if (i < 2)
            cr_expect(strstr(r[i].err, want) == r[i].err, "%s: \"%s\": %s", what[i], want, r[i].err);
        else
            cr_expect(strstr(r[i].err, "busy: macvm (PID") != NULL, "%s: %s", what[i], r[i].err);
        proc_result_free(&r[i]);
    }
    cr_expect(!vt_exists(spec), "the bridge ran a second VM of one identity");
    cr_expect(!vt_exists(dst), "the clone was made");
    kill(pid, SIGINT);
    cr_expect_eq(vt_wait(pid, NULL), 130);
    struct proc_result after = run_fake("run", "--no-log", b, NULL);
    cr_expect_eq(after.status, 0, "the lock outlived the disposable run: %s", after.err);
    proc_result_free(&after);
    free(out);
    free(err);
    free(dst);
    free(spec);
    free(b);
}

/* Starts argv and stops it (SIGSTOP) as soon as a folder dir/prefix* holds
 * an entry named inside*: the copy (or its folder), before the copy is done.
 * Returns its pid, stopped, or 0 when it ended first (*status: its exit). */
static pid_t vt_stop_mid_copy(const char *const argv[], const char *dir, const char *prefix, const char *inside,
                              int *status)
{
    char *out = t_path_join(t_tmp, "stopped-out.txt"), *err = t_path_join(t_tmp, "stopped-err.txt");
    pid_t pid = vt_spawn(argv, out, err, -1);
    struct timespec tick = {0, 50 * 1000};
    for (int i = 0; i < 600000 && pid; i++) {
        char *folder = vt_find_prefix(dir, prefix);
        char *copy = folder ? vt_find_prefix(folder, inside) : NULL;
        free(folder);
        free(copy);
        if (copy) {
            cr_assert_eq(kill(pid, SIGSTOP), 0);
            break;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            pid = 0, *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        else
            nanosleep(&tick, NULL);
    }
    free(out);
    free(err);
    return pid;
}

/* A copy in the making (a disposable run's or a clone's), caught while the
 * data is copied, is busy, not a leftover: info never tells the user to
 * rm -r it.  Let go, it finishes, and leaves no folder behind. */
Test(run, info_never_calls_a_copy_in_the_making_a_leftover, .init = vt_init, .fini = t_tmp_fini, .timeout = 120)
{
    VT_SKIP_ON_COPY_ON_WRITE();
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *disk = t_path_join(b, "Disk.img"), *spec = vt_spec_file("spec.txt");
    setenv("MACVM_FAKE_RUN_SECONDS", "30", 1);
    static const char *const prefixes[] = {".VM.bundle-ephemeral-", ".Copy"}, *const inside[] = {".VM.bundle-clone-",
                                                                                                   "Copy"};
    uint64_t data = 32 * VT_MIB;
    for (int i = 0, attempt = 0; i < 2; attempt++) {
        cr_assert(attempt < 6, "the copy of %llu MiB always finished before it was seen", (unsigned long long)(data >> 20));
        vt_fill(disk, 0, data, (unsigned)attempt + 1);
        char name[64];
        snprintf(name, sizeof name, "Copy%d.bundle", attempt);
        char *dst = t_path_join(t_tmp, name);
        const char *const ephemeral[] = {vt_fake(), "run", "--ephemeral", "--no-log", b, NULL};
        const char *const clone[] = {vt_fake(), "clone", b, dst, NULL};
        const char *const *cmd = i == 0 ? ephemeral : clone;
        int status = 0;
        pid_t pid = vt_stop_mid_copy(cmd, t_tmp, prefixes[i], inside[i], &status);
        if (!pid) {   /* finished first: more data */
            cr_assert_eq(status, 0, "%s: exit %d", cmd[1], status);
            t_remove_tree(dst);
            free(dst);
            data *= 2;
            continue;
        }
        struct proc_result r[2] = {run_fake("info", b, NULL), run_fake("info", dst, NULL)};
        for (int k = 0; k < 2; k++) {
            cr_expect(!strstr(r[k].out, "Leftover copy") && !strstr(r[k].out, "rm -r") && !strstr(r[k].err, "rm -r"),
                      "%s: a copy in the making is no leftover: %s%s", cmd[1], r[k].out, r[k].err);
            proc_result_free(&r[k]);
        }
        kill(pid, SIGCONT);
        if (i == 0)
            kill(pid, SIGINT);   /* the disposable run: stop it, wherever it is */
        status = vt_wait(pid, NULL);
        cr_expect(status == (i == 0 ? 130 : 0), "%s: exit %d", cmd[1], status);
        char *left = vt_find_prefix(t_tmp, prefixes[i]);
        cr_expect(left == NULL, "%s left %s", cmd[1], left);
        free(left);
        free(dst);
        i++;
    }
    unsetenv("MACVM_FAKE_RUN_SECONDS");
    free(spec);
    free(disk);
    free(b);
}

/* A bundle being cloned (the lock held shared, the cloner's PID in it): a run is refused. */
Test(run, a_bundle_being_cloned_is_busy_for_a_run, .init = vt_init, .fini = t_tmp_fini, .timeout = 10)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *lock = t_path_join(b, ".macvm.lock");
    vt_write_text(lock, "4242 cloning\n");
    int fd = open(lock, O_RDONLY);
    cr_assert(fd >= 0 && flock(fd, LOCK_SH) == 0);
    char *spec = vt_spec_file("spec.txt");
    struct proc_result r = run_argv((const char *[]){vt_fake(), "run", "--no-log", b, NULL});
    cr_expect_eq(r.status, EX_TEMPFAIL, "exit %d, want 75; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "busy: macvm (PID 4242) is cloning it") != NULL, "stderr: %s", r.err);
    cr_expect(!vt_exists(spec), "the bridge ran the VM");
    proc_result_free(&r);
    close(fd);
    free(spec);
    free(lock);
    free(b);
}

/* A FIFO where a file belongs is reported, never waited on, by every command that reads it. */
Test(run, a_fifo_in_a_bundle_never_hangs_a_command, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", VT_MIB);
    char *runs = t_path_join(b, "logs"), *run = t_path_join(runs, "2026-01-02T03-04-05");
    vt_mkdir(runs);
    vt_mkdir(run);
    static const char *const files[] = {"Config.plist", "HardwareModel", "MachineIdentifier", "AuxiliaryStorage"};
    for (size_t i = 0; i < 4; i++) {
        char *p = t_path_join(b, files[i]);
        cr_assert_eq(unlink(p), 0);
        cr_assert_eq(mkfifo(p, 0644), 0);
        free(p);
    }
    char *log = t_path_join(run, "vz.ndjson"), *json = t_path_join(run, "run.json"), *ipsw = t_path_join(t_tmp, "x.ipsw");
    cr_assert(mkfifo(log, 0644) == 0 && mkfifo(json, 0644) == 0 && mkfifo(ipsw, 0644) == 0);
    char *dst = t_path_join(t_tmp, "Copy.bundle");
    struct proc_result r[] = {
        run_macvm("info", b, NULL),
        run_macvm("feedback", b, NULL),
        run_macvm("pvg-log", b, NULL),
        run_macvm("pvg-log", "--log", log, NULL),
        run_macvm("ipsw", ipsw, NULL),
        run_macvm("doctor", "--ipsw", ipsw, NULL),
        run_macvm("clone", b, dst, NULL),
        run_argv((const char *[]){vt_fake(), "run", "--dry-run", b, NULL}),
    };
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
        cr_expect(r[i].status > 0 && r[i].status < 128, "command %zu: exit %d; stderr: %s", i, r[i].status, r[i].err);
        cr_expect(strstr(r[i].err, "FIFO") != NULL, "command %zu should say what is there: %s", i, r[i].err);
        proc_result_free(&r[i]);
    }
    cr_expect(!vt_exists(dst), "a clone of a damaged bundle was made");
    free(dst);
    free(ipsw);
    free(json);
    free(log);
    free(run);
    free(runs);
    free(b);
}

/* What Virtualization opens (AuxiliaryStorage, the saved state) must be a
 * regular file before a run hands it over: one FIFO alone is refused (65). */
Test(run, a_fifo_virtualization_would_open_is_refused, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    static const char *const files[] = {"AuxiliaryStorage", "SaveFile.vzvmsave"};
    for (size_t i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "F%zu.bundle", i);
        char *b = vt_bundle(t_tmp, name, "configured", VT_MIB);
        char *p = t_path_join(b, files[i]);
        unlink(p);
        cr_assert_eq(mkfifo(p, 0644), 0);
        struct proc_result r = run_argv((const char *[]){vt_fake(), "run", "--dry-run", b, NULL});
        cr_expect_eq(r.status, 65, "%s a FIFO: exit %d; stderr: %s", files[i], r.status, r.err);
        cr_expect(strstr(r.err, files[i]) && strstr(r.err, "FIFO"), "name the file and what it is: %s", r.err);
        proc_result_free(&r);
        free(p);
        free(b);
    }
}

/* A Config.plist that is a dangling link is no missing Config.plist: the run
 * would otherwise get the defaults (a new MAC) and the advice to write through it. */
Test(run, a_dangling_config_link_is_refused, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", VT_MIB);
    char *config = t_path_join(b, "Config.plist");
    cr_assert(unlink(config) == 0 && symlink("/nonexistent/macvm/Config.plist", config) == 0);
    struct proc_result r = run_argv((const char *[]){vt_fake(), "run", "--dry-run", b, NULL});
    cr_expect_eq(r.status, 66, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "Config.plist") != NULL, "name the file: %s", r.err);
    cr_expect_eq(r.out_len, 0, "no description of a run: %s", r.out);
    proc_result_free(&r);
    free(config);
    free(b);
}

/* A FIFO or a folder where Config.plist belongs is a damaged bundle file: every
 * command that reads it exits 65, as info does, naming it. */
Test(run, a_config_that_is_no_file_is_damaged_for_every_command, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    for (int i = 0; i < 2; i++) {
        char *b = vt_bundle(t_tmp, i ? "D.bundle" : "F.bundle", "configured", VT_MIB);
        char *config = t_path_join(b, "Config.plist");
        cr_assert(unlink(config) == 0 && (i ? mkdir(config, 0755) : mkfifo(config, 0644)) == 0);
        struct proc_result r[] = {
            run_argv((const char *[]){vt_fake(), "run", "--dry-run", b, NULL}),
            run_macvm("feedback", b, NULL),
            run_macvm("info", b, NULL),
        };
        for (size_t k = 0; k < sizeof r / sizeof *r; k++) {
            cr_expect_eq(r[k].status, EX_DATAERR, "%s Config.plist, command %zu: exit %d, want 65; stderr: %s",
                         i ? "a folder" : "a FIFO", k, r[k].status, r[k].err);
            cr_expect(strstr(r[k].err, "Config.plist") != NULL, "name the file: %s", r[k].err);
            proc_result_free(&r[k]);
        }
        free(config);
        free(b);
    }
}

/* A bundle named with a newline and ESC, a shared folder inside a folder
 * named with a newline: the dry run keeps one line per fact, as many as for
 * plain names, and no raw control character. */
Test(run, dry_run_keeps_a_strange_name_on_its_lines, .init = vt_init, .fini = t_tmp_fini)
{
    char *plain = vt_bundle(t_tmp, "Plain.bundle", "configured", VT_MIB);
    char *odd = vt_bundle(t_tmp, "N\nX\x1b[31m.bundle", "configured", VT_MIB);
    char *plain_share = t_path_join(t_tmp, "docs"), *odd_dir = t_path_join(t_tmp, "S\nY");
    char *odd_share = t_path_join(odd_dir, "docs");   /* a plain name in a folder with a newline */
    vt_mkdir(plain_share);
    vt_mkdir(odd_dir);
    vt_mkdir(odd_share);
    struct proc_result a = run_argv((const char *[]){vt_fake(), "run", "--dry-run", "--share", plain_share, plain, NULL});
    struct proc_result b = run_argv((const char *[]){vt_fake(), "run", "--dry-run", "--share", odd_share, odd, NULL});
    cr_assert(a.status == 0 && b.status == 0, "exit %d and %d: %s%s", a.status, b.status, a.err, b.err);
    cr_expect_eq(count_lines(b.out), count_lines(a.out), "lines: %s", b.out);
    cr_expect(!strchr(b.out, '\x1b'), "a raw ESC: %s", b.out);
    cr_expect(strstr(b.out, "N\\nX\\x1b[31m.bundle") != NULL, "the name escaped: %s", b.out);
    cr_expect(strstr(b.out, "S\\nY/docs, read-write") != NULL, "the shared folder escaped: %s", b.out);
    proc_result_free(&a);
    proc_result_free(&b);
    free(plain_share);
    free(odd_share);
    free(odd_dir);
    free(odd);
    free(plain);
}

/* ------------------------- outputs ------------------------- */

/* -o FILE writes a new file or (with --force) replaces a regular one: never a
 * FIFO, a folder or a link, and nothing inside a VM bundle. */
Test(outputs, o_file_refuses_what_is_not_a_report_s_to_replace, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", VT_MIB);
    char *runs = t_path_join(b, "logs"), *run = t_path_join(runs, "2026-01-02T03-04-05");
    vt_mkdir(runs);
    vt_mkdir(run);
    char *record = t_path_join(run, "run.json"), *config = t_path_join(b, "Config.plist");
    vt_write_text(record, "{\"outcome\":{\"result\":\"guest-stopped\"}}\n");
    char *fifo = t_path_join(t_tmp, "report.fifo"), *dir = t_path_join(t_tmp, "folder"), *link = t_path_join(t_tmp, "link.md");
    char *target = t_path_join(t_tmp, "target.md"), *inside = t_path_join(b, "report.md");
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    vt_mkdir(dir);
    vt_write_text(target, "mine\n");
    cr_assert_eq(symlink(target, link), 0);
    char *before = vt_snapshot(b);
    const char *const targets[] = {fifo, dir, link, config, record, inside};
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        struct proc_result r = run_macvm("feedback", b, "-o", targets[i], "--force", NULL);
        cr_expect_eq(r.status, EX_CANTCREAT, "-o %s --force: exit %d, want 73; stderr: %s", targets[i], r.status, r.err);
        cr_expect_eq(count_lines(r.err), 1, "-o %s: one line: %s", targets[i], r.err);
        proc_result_free(&r);
    }
    struct stat st;
    cr_expect(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced");
    cr_expect(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");
    vt_expect_unchanged(b, before, "feedback -o into the bundle");
    struct proc_result r = run_macvm("feedback", b, "-o", target, "--force", NULL);
    cr_expect_eq(r.status, 0, "-o a regular file --force: exit %d; stderr: %s", r.status, r.err);
    proc_result_free(&r);
    free(inside);
    free(target);
    free(link);
    free(dir);
    free(fifo);
    free(config);
    free(record);
    free(run);
    free(runs);
    free(b);
}

/* -o FILE in a folder that is missing, or under a file, is refused before
 * anything is read: one line naming that folder and what to do, exit 73. */
Test(outputs, o_file_in_no_folder_says_which_and_what_to_do, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", VT_MIB);
    char *file = t_path_join(t_tmp, "notes.txt"), *missing = t_path_join(t_tmp, "reports");
    vt_write_text(file, "mine\n");
    char *under_file = t_path_join(file, "report.md"), *under_missing = t_path_join(missing, "report.md");
    char *spaced = t_path_join(t_tmp, "My reports/report.md");
    struct {
        const char *target, *says;
    } cases[] = {
        {under_file, "notes.txt is a regular file, not a folder; name a file in a folder"},
        {under_missing, "reports does not exist; create it (mkdir -p "},
        {spaced, "My reports') or name a file in another folder"},   /* the command quoted, to paste */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct proc_result r = run_macvm("feedback", b, "-o", cases[i].target, NULL);
        cr_expect_eq(r.status, EX_CANTCREAT, "-o %s: exit %d, want 73; stderr: %s", cases[i].target, r.status, r.err);
        cr_expect(strstr(r.err, cases[i].says) && count_lines(r.err) == 1, "-o %s: stderr: %s", cases[i].target, r.err);
        proc_result_free(&r);
    }
    cr_expect(!vt_exists(missing), "the missing folder was made");
    free(spaced);
    free(under_missing);
    free(under_file);
    free(missing);
    free(file);
    free(b);
}

/* A report that cannot be written to -o FILE (a full disk; here a file-size
 * limit, and a name too long for the folder) leaves FILE as it was and no
 * temporary file, and says what to do. */
Test(outputs, o_file_that_cannot_be_written_says_what_to_do, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", VT_MIB);
    char *dir = t_path_join(t_tmp, "reports");
    vt_mkdir(dir);
    char *kept = t_path_join(dir, "kept.md"), *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    vt_write_text(kept, "mine\n");
    const char *bin = t_env_or("MACVM_BIN", "./macvm");
    pid_t pid = vt_spawn((const char *[]){bin, "feedback", b, "-o", kept, "--force", NULL}, out, err, 512);
    bool signaled;
    int status = vt_wait(pid, &signaled);
    size_t n;
    char *text = (char *)t_read_file(err, &n), *left = (char *)t_read_file(kept, &n);
    cr_expect(!signaled && status == EX_IOERR, "a full disk: exit %d, want 74; stderr: %s", status, text);
    cr_expect(strstr(text, "kept.md: cannot write: ") && strstr(text, "; nothing was written: free some space") &&
              count_lines(text) == 1, "a full disk: stderr: %s", text);
    tk_expect_str(left, "mine\n", "the file --force would have replaced");
    free(left);
    free(text);
    char name[251];
    memset(name, 'x', 250);
    name[250] = 0;
    char *longest = t_path_join(dir, name);
    struct proc_result r = run_macvm("feedback", b, "-o", longest, NULL);
    cr_expect_eq(r.status, EX_CANTCREAT, "a long name: exit %d, want 73; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "; nothing was written: name another file") && count_lines(r.err) == 1, "stderr: %s",
              r.err);
    proc_result_free(&r);
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int entries = 0;
    for (struct dirent *de; (de = readdir(d));)
        entries += de->d_name[0] != '.';
    closedir(d);
    cr_expect_eq(entries, 1, "%s should hold kept.md alone", dir);
    free(longest);
    free(err);
    free(out);
    free(kept);
    free(dir);
    free(b);
}

/* Output that cannot be written (a full disk; here a file-size limit) is an
 * error of one line and exit 74, never a silent success. */
Test(outputs, a_full_standard_output_is_exit_74_with_one_line, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", VT_MIB);
    char *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    const char *bin = t_env_or("MACVM_BIN", "./macvm");
    const char *const cmds[][5] = {
        {bin, "info", b, NULL}, {bin, "info", "--json", b, NULL}, {bin, "feedback", b, NULL},
        {bin, "ipsw", "tests/fixtures/ipsw/macOS-14.5-vm.ipsw", NULL}, {bin, "--help", NULL}, {bin, "help", NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        pid_t pid = vt_spawn(cmds[i], out, err, 64);
        bool signaled;
        int status = vt_wait(pid, &signaled);
        size_t n;
        char *text = (char *)t_read_file(err, &n);
        const char *arg = cmds[i][2] ? cmds[i][2] : "";
        cr_expect(!signaled && status == EX_IOERR, "%s %s: exit %d%s, want 74; stderr: %s", cmds[i][1], arg,
                  status, signaled ? " (killed)" : "", text);
        cr_expect(strncmp(text, "macvm: standard output: ", 24) == 0 && count_lines(text) == 1,
                  "%s %s: one line about standard output: %s", cmds[i][1], arg, text);
        free(text);
    }
    free(err);
    free(out);
    free(b);
}

/* DEL and C1 controls in a bundle's name and a Config.plist string leave
 * --json valid JSON that Python reads back to the very characters. */
Test(outputs, json_keeps_del_and_c1_valid, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    char *b = vt_bundle(t_tmp, "VM\x7f\xc2\x85.bundle", "configured", VT_MIB);
    char *config = t_path_join(b, "Config.plist"), *out = t_path_join(t_tmp, "info.json");
    size_t n;
    char *plist = (char *)t_read_file(config, &n);
    char *at = strstr(plist, "<key>InstalledFromIPSW</key>");
    cr_assert_not_null(at);
    at = strstr(at, "<string>") + strlen("<string>");
    char *edited;
    cr_assert(asprintf(&edited, "%.*sa&#127;b&#133;c%s", (int)(at - plist), plist, strstr(at, "</string>")) > 0);
    vt_write_text(config, edited);
    struct proc_result r = run_macvm("info", "--json", b, NULL);
    cr_expect_eq(r.status, 0, "info --json: exit %d; stderr: %s", r.status, r.err);
    vt_write_text(out, r.out);
    char *got = tk_py(out, false, "ascii(d['bundle'][-11:]) + ' ' + ascii(d['installed']['from'])");
    tk_expect_str(got, "'VM\\x7f\\x85.bundle' 'a\\x7fb\\x85c'", "info --json");
    free(got);
    proc_result_free(&r);
    free(edited);
    free(plist);
    free(out);
    free(config);
    free(b);
}

/* A name with characters that reorder or break a line (a right-to-left
 * override, a line separator) is shown with them escaped, in text and JSON:
 * "VM<U+202E>eldnub.x" must not show as "VMx.bundle". */
Test(outputs, characters_that_reorder_a_line_are_escaped, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    char *b = vt_bundle(t_tmp, "VM\xe2\x80\xae" "eldnub.x\xe2\x80\xa8" "y\xe2\x81\xa6" "z\xe2\x80\x8f" "w\xd8\x9c" "v", "configured", VT_MIB);
    const char *const modes[] = {NULL, "--json"};
    for (int i = 0; i < 2; i++) {
        struct proc_result r = modes[i] ? run_macvm("info", modes[i], b, NULL) : run_macvm("info", b, NULL);
        cr_expect_eq(r.status, 0, "info %s: exit %d; stderr: %s", modes[i] ? modes[i] : "", r.status, r.err);
        cr_expect(strstr(r.out, "\xe2\x80\xae") == NULL && strstr(r.out, "\xe2\x80\xa8") == NULL &&
                  strstr(r.out, "\xe2\x81\xa6") == NULL && strstr(r.out, "\xe2\x80\x8f") == NULL &&
                  strstr(r.out, "\xd8\x9c") == NULL, "a reordering character reached the terminal:\n%s", r.out);
        cr_expect(strstr(r.out, "VM\\u202eeldnub.x\\u2028y\\u2066z\\u200fw\\u061cv") != NULL, "the name, escaped:\n%s",
                  r.out);
        proc_result_free(&r);
    }
    free(b);
}

/* Control characters in a bundle's path and its Config.plist strings are
 * shown escaped: they never reach the terminal, and errors stay one line
 * (under --json too). */
Test(outputs, control_characters_are_escaped, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    char *b = vt_bundle(t_tmp, "VM\x1b[2J\rbundle\nFAKE", "configured", VT_MIB);
    char *config = t_path_join(b, "Config.plist");
    size_t n;
    char *plist = (char *)t_read_file(config, &n);
    char *at = strstr(plist, "<key>InstalledFromIPSW</key>");
    cr_assert_not_null(at);
    at = strstr(at, "<string>") + strlen("<string>");
    char *end = strstr(at, "</string>");
    char *edited;
    cr_assert(asprintf(&edited, "%.*s&#27;]0;owned&#7;\nline%s", (int)(at - plist), plist, end) > 0);
    vt_write_text(config, edited);
    struct proc_result r = run_macvm("info", b, NULL);
    cr_expect_eq(r.status, 0, "info: exit %d; stderr: %s", r.status, r.err);
    cr_expect(strpbrk(r.out, "\x1b\r\x07") == NULL, "a control character reached the terminal:\n%s", r.out);
    cr_expect(strstr(r.out, "VM\\x1b[2J\\rbundle\\nFAKE") != NULL, "the path, escaped:\n%s", r.out);
    cr_expect(strstr(r.out, "\\x1b]0;owned\\x07\\nline") != NULL, "the plist string, escaped:\n%s", r.out);
    cr_expect(strstr(r.out, "\nFAKE") == NULL && strstr(r.out, "\nline") == NULL, "a value began a line:\n%s", r.out);
    proc_result_free(&r);
    char *missing = t_path_join(t_tmp, "no\nsuch\x1b bundle");
    r = run_macvm("info", "--json", missing, NULL);
    cr_expect_eq(r.status, EX_NOINPUT, "info --json of a missing bundle: exit %d", r.status);
    cr_expect(count_lines(r.err) == 1 && strchr(r.err, 0x1b) == NULL, "one line, escaped: %s", r.err);
    cr_expect_eq(r.out_len, 0, "nothing on standard output: %s", r.out);
    proc_result_free(&r);
    free(missing);
    free(edited);
    free(plist);
    free(config);
    free(b);
}

/* ------------------------- messages that name the value and the rule ------------------------- */

/* Writes bundle/Config.plist from the configured fixture with python's plistlib, changed by code (d is the dict). */
static void vt_edit_config(const char *bundle, const char *code)
{
    char *config = t_path_join(bundle, "Config.plist");
    char script[1024];
    snprintf(script, sizeof script, "import plistlib, sys\np = sys.argv[1]\nd = plistlib.load(open(p, 'rb'))\n%s\n"
                                    "plistlib.dump(d, open(p, 'wb'))\n", code);
    struct proc_result r = run_argv((const char *[]){"python3", "-c", script, config, NULL});
    cr_assert_eq(r.status, 0, "python3: %s", r.err);
    proc_result_free(&r);
    free(config);
}

/* Every bad key of Config.plist is named with its value and the rule, not only the first. */
Test(messages, config_plist_names_every_bad_value_and_its_rule, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", VT_MIB);
    vt_edit_config(b, "d['CPUCount'] = 0\nd['MemorySize'] = 'lots'\ndel d['DisplayHeight']\nd['MACAddress'] = 'zz'");
    struct proc_result r = run_macvm("info", b, NULL);
    cr_expect_eq(r.status, EX_DATAERR, "info: exit %d; stderr: %s", r.status, r.err);
    static const char *const wants[] = {
        "CPUCount is 0, not a whole number from 1 to 1024",
        "MemorySize is \"lots\", a string, not a whole number of at least 1048576",
        "give all three or none (this one has DisplayWidth and DisplayPixelsPerInch)",
        "MACAddress is \"zz\", a string, not a MAC address",
        "correct them, or remove the keys to use the defaults",
    };
    for (size_t i = 0; i < sizeof wants / sizeof *wants; i++)
        cr_expect(strstr(r.err, wants[i]) != NULL, "info should say \"%s\": %s", wants[i], r.err);
    cr_expect_eq(count_lines(r.err), 1, "one line: %s", r.err);
    proc_result_free(&r);
    free(b);
}

/* An empty file says it is empty. */
Test(messages, an_empty_file_says_empty, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", VT_MIB);
    char *config = t_path_join(b, "Config.plist"), *hw = t_path_join(b, "HardwareModel"), *ipsw = t_path_join(t_tmp, "x.ipsw");
    vt_write_text(config, "");
    vt_write_text(hw, "");
    vt_write_text(ipsw, "");
    struct proc_result r[] = {run_macvm("info", b, NULL), run_macvm("ipsw", ipsw, NULL)};
    for (size_t i = 0; i < 2; i++) {
        cr_expect(r[i].status == EX_DATAERR, "exit %d; stderr: %s", r[i].status, r[i].err);
        cr_expect(strstr(r[i].err, "empty (0 bytes)") != NULL, "should say empty: %s", r[i].err);
        proc_result_free(&r[i]);
    }
    free(ipsw);
    free(hw);
    free(config);
    free(b);
}

/* --cpus beyond the range names it: this Mac's (the fake says 1 to 8), or what a VM can have. */
Test(messages, cpus_out_of_range_names_the_range, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", VT_MIB);
    struct proc_result r = run_argv((const char *[]){vt_fake(), "run", "--dry-run", "--cpus", "1025", b, NULL});
    cr_expect_eq(r.status, EX_USAGE, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "1025 CPUs: this Mac allows 1 to 8; use --cpus within that") != NULL, "%s", r.err);
    proc_result_free(&r);
    r = run_macvm("run", "--dry-run", "--cpus", "1025", b, NULL);
    cr_expect_eq(r.status, EX_USAGE, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "1025 CPUs: a VM can have 1 to 1024") != NULL, "%s", r.err);
    proc_result_free(&r);
    free(b);
}

/* An ambiguous prefix of an option says which options it could be. */
Test(messages, an_ambiguous_option_lists_what_it_could_be, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    struct proc_result r = run_macvm("run", "--d", "VM.bundle", NULL);
    cr_expect_eq(r.status, EX_USAGE, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "option --d is ambiguous: it could be ") != NULL && strstr(r.err, "--dfu") &&
              strstr(r.err, "--dry-run") && strstr(r.err, "--debug-stub"), "%s", r.err);
    proc_result_free(&r);
    r = run_macvm("run", "--dry", "--no-such", NULL);
    cr_expect(strstr(r.err, "ambiguous") == NULL, "a unique prefix is no ambiguity: %s", r.err);
    proc_result_free(&r);
}

/* tart's --no-graphics gets macvm's way, not just "unknown". */
Test(messages, no_graphics_points_to_headless, .init = vt_init, .fini = t_tmp_fini, .timeout = 20)
{
    struct proc_result r = run_macvm("run", "--no-graphics", "VM.bundle", NULL);
    cr_expect_eq(r.status, EX_USAGE, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "--no-graphics is unknown") && strstr(r.err, "--headless"), "%s", r.err);
    proc_result_free(&r);
    r = run_macvm("install", "--no-graphics", NULL);
    cr_expect(strstr(r.err, "--headless") == NULL, "only run has --headless: %s", r.err);
    proc_result_free(&r);
}
