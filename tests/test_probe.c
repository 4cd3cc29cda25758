/* test_probe.c -- `macvm doctor --probe`: which features this Mac's
 * Virtualization has, looked up by name without booting anything.
 *
 * Contract under test (issue 8, section 4):
 *   - build/macvm-fake doctor --probe --json prints one JSON array of
 *     {feature, status, detail}: every feature row (install, window, recovery,
 *     dfu, iboot-stage1, iboot-stage2, debug-stub, debug-stub-port, boot-args,
 *     save-restore, and the others of the table) exactly once, each status one
 *     of available, missing, needs-private-entitlement, failed; exit 0.
 *   - The row for the host's macOS decides which names are looked up: macOS 12
 *     reaches Recovery and DFU through private start options, 13+ through
 *     public ones; save-restore and the Mac keyboard need 14, the trackpad 13.
 *   - A class or method the bridge does not find makes the feature missing,
 *     naming it; the debug stub without the private entitlement is
 *     needs-private-entitlement; private API rows say "experimental".
 *   - --ipsw FILE loads the image: one that does not load fails the install row
 *     (exit 69).
 *   - Where Virtualization is not (./macvm on Linux, the fake with no host):
 *     one line, exit 69.
 * The fake bridge answers "present?" from $MACVM_FAKE_MISSING.
 */
#define TP_EX_UNAVAILABLE 69
#define TP_EX_NOINPUT 66

static const char *const tp_issue_rows[] = {"install", "window", "recovery", "dfu", "iboot-stage1", "iboot-stage2",
                                            "debug-stub", "debug-stub-port", "boot-args", "save-restore", NULL};

/* Runs the fake's probe as JSON; returns the saved output file (free it). */
static char *tp_probe_json(const char *ipsw, int want_status)
{
    struct proc_result r = ipsw ? run_fake("doctor", "--probe", "--json", "--ipsw", ipsw, NULL)
                                : run_fake("doctor", "--probe", "--json", NULL);
    cr_expect_eq(r.status, want_status, "doctor --probe: exit %d; stderr: %s", r.status, r.err);
    char *out = tk_save(t_tmp, "probe.json", r.out, r.out_len);
    proc_result_free(&r);
    return out;
}

/* "status: detail" of feature in the probe file (free it). */
static char *tp_row(const char *file, const char *feature)
{
    char expr[256];
    snprintf(expr, sizeof expr, "' | '.join(r['status'] + ': ' + r['detail'] for r in d if r['feature'] == '%s')",
             feature);
    return tk_py(file, false, expr);
}

#define tp_expect_row(file, feature, status, needle)                                                            \
    do {                                                                                                        \
        char *row_ = tp_row((file), (feature));                                                                 \
        cr_expect(strncmp(row_, status ": ", strlen(status) + 2) == 0 && strstr(row_, (needle)),               \
                  "%s: want %s with \"%s\", got \"%s\"", (feature), (status), (needle), row_);                 \
        free(row_);                                                                                             \
    } while (0)

Test(probe, lists_every_feature_row_once, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *out = tp_probe_json(NULL, 0);
    char *shape = tk_py(out, false, "str(type(d) is list and all(sorted(r) == ['detail', 'feature', 'status'] and "
                                    "r['status'] in ('available', 'missing', 'needs-private-entitlement', 'failed') "
                                    "and r['detail'] for r in d))");
    tk_expect_str(shape, "True", "an array of {feature, status, detail} with known statuses and a detail each");
    for (int i = 0; tp_issue_rows[i]; i++) {
        char expr[128];
        snprintf(expr, sizeof expr, "str(sum(r['feature'] == '%s' for r in d))", tp_issue_rows[i]);
        char *n = tk_py(out, false, expr);
        cr_expect_str_eq(n, "1", "feature %s should appear once", tp_issue_rows[i]);
        free(n);
    }
    char *dups = tk_py(out, false, "str(len(d) == len(set(r['feature'] for r in d)))");
    tk_expect_str(dups, "True", "each feature once");
    tp_expect_row(out, "save-restore", "available", "save");
    tp_expect_row(out, "recovery", "available", "--recovery");
    free(dups);
    free(shape);
    free(out);
}

Test(probe, rows_follow_the_host_macos, .init = t_tmp_init, .fini = t_tmp_fini)
{
    setenv("MACVM_FAKE_OS", "13.6", 1);
    char *out = tp_probe_json(NULL, 0);
    tp_expect_row(out, "save-restore", "missing", "needs macOS 14");
    tp_expect_row(out, "mac-keyboard", "missing", "needs macOS 14");
    tp_expect_row(out, "mac-trackpad", "available", "trackpad");
    free(out);

    /* macOS 12: Recovery and DFU through the private start options, which this macOS lacks here. */
    setenv("MACVM_FAKE_OS", "12.6", 1);
    setenv("MACVM_FAKE_MISSING", "_VZVirtualMachineStartOptions", 1);
    out = tp_probe_json(NULL, 0);
    tp_expect_row(out, "recovery", "missing", "_VZVirtualMachineStartOptions setBootMacOSRecovery:");
    tp_expect_row(out, "dfu", "missing", "_VZVirtualMachineStartOptions setForceDFU:");
    tp_expect_row(out, "mac-trackpad", "missing", "needs macOS 13");
    free(out);

    /* The same class missing on macOS 14 costs nothing: 13+ starts through public options. */
    setenv("MACVM_FAKE_OS", "14.5", 1);
    out = tp_probe_json(NULL, 0);
    tp_expect_row(out, "recovery", "available", "--recovery");
    tp_expect_row(out, "dfu", "available", "experimental");
    free(out);
}

Test(probe, a_missing_name_is_named, .init = t_tmp_init, .fini = t_tmp_fini)
{
    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    setenv("MACVM_FAKE_MISSING", "VZMacOSVirtualMachineStartOptions _setStopInIBootStage2:,_VZGDBDebugStub", 1);
    char *out = tp_probe_json(NULL, 0);
    tp_expect_row(out, "iboot-stage2", "missing", "VZMacOSVirtualMachineStartOptions _setStopInIBootStage2:");
    tp_expect_row(out, "iboot-stage1", "available", "experimental");
    tp_expect_row(out, "debug-stub-port", "missing", "_VZGDBDebugStub port");
    tp_expect_row(out, "debug-stub", "available", "experimental");
    free(out);
}

Test(probe, debug_stub_needs_the_private_entitlement, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *out = tp_probe_json(NULL, 0);
    tp_expect_row(out, "debug-stub", "needs-private-entitlement", "com.apple.private.virtualization");
    tp_expect_row(out, "debug-stub-port", "needs-private-entitlement", "com.apple.private.virtualization");
    tp_expect_row(out, "private-entitlement", "needs-private-entitlement", "make sign-private");
    tp_expect_row(out, "dfu", "available", "experimental");
    free(out);
    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    out = tp_probe_json(NULL, 0);
    tp_expect_row(out, "debug-stub", "available", "--debug-stub");
    tp_expect_row(out, "private-entitlement", "available", "com.apple.private.virtualization");
    free(out);
}

Test(probe, ipsw_is_loaded, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *img = fixture("ipsw/macOS-14.5-vm.ipsw");
    char *out = tp_probe_json(img, 0);
    tp_expect_row(out, "install", "available", "loads");
    free(out);
    setenv("MACVM_FAKE_UNSUPPORTED", "1", 1);
    out = tp_probe_json(img, TP_EX_UNAVAILABLE);
    tp_expect_row(out, "install", "failed", "no hardware model");
    free(out);
    unsetenv("MACVM_FAKE_UNSUPPORTED");
    char *missing = t_path_join(t_tmp, "missing.ipsw");
    out = tp_probe_json(missing, TP_EX_UNAVAILABLE);
    tp_expect_row(out, "install", "failed", "does not load");
    free(out);
    free(missing);
    /* A FIFO or a folder is not handed to Virtualization (which would wait on the FIFO): exit 66, as without --probe. */
    char *fifo = t_path_join(t_tmp, "fifo.ipsw");
    cr_assert_eq(mkfifo(fifo, 0600), 0, "tests: mkfifo %s: %s", fifo, strerror(errno));
    const char *not_files[] = {fifo, t_tmp};
    for (size_t i = 0; i < 2; i++) {
        struct proc_result r = run_fake("doctor", "--probe", "--ipsw", not_files[i], NULL);
        cr_expect_eq(r.status, TP_EX_NOINPUT, "%s: exit %d; stderr: %s", not_files[i], r.status, r.err);
        cr_expect(strstr(r.err, not_files[i]) && strstr(r.err, "not a regular file"), "stderr: %s", r.err);
        cr_expect(strstr(r.out, "loads") == NULL, "the image was handed to Virtualization: %s", r.out);
        proc_result_free(&r);
    }
    free(fifo);
    free(img);
}

Test(probe, text_is_one_line_per_feature, .init = t_tmp_init, .fini = t_tmp_fini)
{
    struct proc_result r = run_fake("doctor", "--probe", NULL);
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    for (int i = 0; tp_issue_rows[i]; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, " %s ", tp_issue_rows[i]);
        cr_expect(strstr(r.out, needle), "a line for %s:\n%s", tp_issue_rows[i], r.out);
    }
    for (const char *p = r.out; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
        cr_expect(!strncmp(p, "available ", 10) || !strncmp(p, "missing ", 8) ||
                      !strncmp(p, "needs-private-entitlement ", 26) || !strncmp(p, "failed ", 7),
                  "each line starts with its status: %.60s", p);
    proc_result_free(&r);
}

Test(probe, no_virtualization_says_one_line)
{
    setenv("MACVM_FAKE_HOST", "none", 1);
    struct proc_result r = run_fake("doctor", "--probe", "--json", NULL);
    cr_expect_eq(r.status, TP_EX_UNAVAILABLE, "exit %d", r.status);
    cr_expect_eq(count_lines(r.err), 1, "one line: %s", r.err);
    cr_expect_eq(r.out_len, 0, "nothing on stdout: %s", r.out);
    proc_result_free(&r);
    unsetenv("MACVM_FAKE_HOST");
#ifdef __linux__
    r = run_macvm("doctor", "--probe", NULL);
    cr_expect_eq(r.status, TP_EX_UNAVAILABLE, "./macvm on Linux: exit %d", r.status);
    cr_expect_eq(count_lines(r.err), 1, "one line: %s", r.err);
    proc_result_free(&r);
#endif
}

/* With a bundle: Virtualization validates the configuration `run` would start,
 * and Apple's save set for it. */
Test(probe, a_bundle_is_validated, .init = vt_init, .fini = t_tmp_fini)
{
    char *configured = vt_bundle(t_tmp, "Configured.bundle", "configured", VT_GIB);
    char *apple = vt_bundle(t_tmp, "Apple.bundle", "apple", VT_GIB);
    struct proc_result r = run_fake("doctor", "--probe", "--json", configured, NULL);
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    char *out = tk_save(t_tmp, "probe.json", r.out, r.out_len);
    tp_expect_row(out, "configuration", "available", "accepts");
    tp_expect_row(out, "save-restore", "available", "Quit saves the state");
    free(out);
    proc_result_free(&r);

    /* the bridge was asked about the run's configuration, then about Apple's save set */
    char *spec = t_path_join(t_tmp, "spec.txt");
    setenv("MACVM_FAKE_SPEC", spec, 1);
    r = run_fake("doctor", "--probe", apple, NULL);
    cr_expect(strstr(r.out, "its runs do not save") && strstr(r.out, "version is unknown"), "%s", r.out);
    struct vt_spec s;
    cr_assert(vt_spec_load(&s, spec), "the bridge was not asked");
    cr_expect_eq(s.calls, 2, "two checks, got %d", s.calls);
    vt_spec_free(&s);
    unsetenv("MACVM_FAKE_SPEC");
    proc_result_free(&r);

    setenv("MACVM_FAKE_SAVE", "validation", 1);
    r = run_fake("doctor", "--probe", "--json", configured, NULL);
    cr_expect_eq(r.status, TP_EX_UNAVAILABLE, "a failed row: exit %d", r.status);
    out = tk_save(t_tmp, "probe.json", r.out, r.out_len);
    tp_expect_row(out, "save-restore", "failed", "Unsupported device in configuration");
    free(out);
    proc_result_free(&r);
    unsetenv("MACVM_FAKE_SAVE");

    setenv("MACVM_FAKE_INVALID", "The storage device attachment is invalid.", 1);
    r = run_fake("doctor", "--probe", "--json", configured, NULL);
    cr_expect_eq(r.status, TP_EX_UNAVAILABLE, "exit %d", r.status);
    out = tk_save(t_tmp, "probe.json", r.out, r.out_len);
    tp_expect_row(out, "configuration", "failed", "The storage device attachment is invalid.");
    free(out);
    proc_result_free(&r);
    unsetenv("MACVM_FAKE_INVALID");

    /* A configuration macvm itself would not run is the row's failure alone: exit 69 as for any failed
     * row, and no second line on stderr under another subject (here the image's). */
    char *saved = t_path_join(configured, "SaveFile.vzvmsave"), *img = fixture("ipsw/macOS-14.5-vm.ipsw");
    tk_write_text(saved, "state");
    setenv("MACVM_FAKE_OS", "13.6", 1);
    r = run_fake("doctor", "--probe", "--json", "--ipsw", img, configured, NULL);
    unsetenv("MACVM_FAKE_OS");
    cr_expect_eq(r.status, TP_EX_UNAVAILABLE, "a failed row: exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.err, img) == NULL, "the bundle's refusal is said as the image's: %s", r.err);
    out = tk_save(t_tmp, "probe.json", r.out, r.out_len);
    tp_expect_row(out, "configuration", "failed", "only macOS 14 or later can restore");
    tp_expect_row(out, "install", "available", "loads");
    free(out);
    proc_result_free(&r);
    unlink(saved);
    free(img);
    free(saved);

    char *none = t_path_join(t_tmp, "None.bundle");
    r = run_fake("doctor", "--probe", none, NULL);
    cr_expect_eq(r.status, 66, "not a bundle: exit %d; %s", r.status, r.err);
    cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
    proc_result_free(&r);
    free(none);
    free(spec);
    free(apple);
    free(configured);
}

/* Every run records the same matrix in run.json, and the Feedback report lists it. */
Test(probe, runs_record_it_and_feedback_lists_it, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", VT_GIB);
    setenv("MACVM_FAKE_MISSING", "VZMacOSVirtualMachineStartOptions _setForceDFU:", 1);
    struct proc_result r = run_fake("run", "--no-log", b, NULL);
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    proc_result_free(&r);
    char *run = tk_newest_run(b), *json = t_path_join(run, "run.json");
    char *v = tk_py(json, false, "' '.join(r['feature'] + '=' + r['status'] for r in d['probe'] if r['feature'] in "
                                 "('dfu', 'save-restore'))");
    tk_expect_str(v, "dfu=missing save-restore=available", "run.json's probe");
    free(v);
    r = run_fake("feedback", b, NULL);
    cr_expect(strstr(r.out, "## What this Mac's Virtualization has"), "%s", r.out);
    cr_expect(strstr(r.out, "- dfu: missing (macOS 14.5 lacks VZMacOSVirtualMachineStartOptions _setForceDFU:"),
              "%s", r.out);
    proc_result_free(&r);
    free(json);
    free(run);
    free(b);
}

/* `make mac-check` off a Mac: it says what it would do, runs nothing, exits 69. */
Test(probe, mac_check_off_a_mac_says_its_plan, .init = t_tmp_init, .fini = t_tmp_fini)
{
#ifdef __APPLE__
    cr_skip_test("runs VMs on a Mac");
#endif
    char *bundle = t_path_join(t_tmp, "VM.bundle");
    const char *argv[] = {"sh", "tests/mac-check.sh", bundle, "5", NULL};
    struct proc_result r = run_argv(argv);
    cr_expect_eq(r.status, TP_EX_UNAVAILABLE, "exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.out, "doctor --probe") && strstr(r.out, "--ephemeral --headless") && strstr(r.out, "5 s each"),
              "the plan: %s", r.out);
    cr_expect_eq(count_lines(r.err), 1, "one line: %s", r.err);
    struct stat st;
    cr_expect(stat("build/mac-check/table.md", &st) != 0 || st.st_mtime < time(NULL) - 60, "no table written");
    proc_result_free(&r);
    free(bundle);
}

/* Writes an executable script dir/name with body (after #!/bin/sh). */
static void tp_tool(const char *dir, const char *name, const char *body)
{
    char *path = t_path_join(dir, name), *text;
    cr_assert(asprintf(&text, "#!/bin/sh\n%s\n", body) > 0);
    tk_write_text(path, text);
    cr_assert_eq(chmod(path, 0755), 0);
    free(text);
    free(path);
}

/* mac-check's own logic, on a pretend Mac: uname, sw_vers, sysctl and plutil
 * stand in (plutil reads run.json with Python), build/macvm-fake is macvm,
 * each "VM" runs until its Ctrl-C.  The table has a row per start mode, and
 * modes the probe does not call available are not booted. */
Test(probe, mac_check_table_on_a_pretend_mac, .init = vt_init, .fini = t_tmp_fini, .timeout = 120)
{
    char *bin = tk_mkdirs(t_tmp, "bin");
    tp_tool(bin, "uname", "echo Darwin");
    tp_tool(bin, "sw_vers", "case $1 in -productVersion) echo 14.5 ;; *) echo 23F79 ;; esac");
    tp_tool(bin, "sysctl", "echo Mac14,2");
    tp_tool(bin, "plutil", "exec python3 -c 'import json, sys\n"
                           "v = json.load(open(sys.argv[2]))\n"
                           "for k in sys.argv[1].split(\".\"): v = v[k]\n"
                           "if v is None: sys.exit(1)\n"
                           "print(json.dumps(v) if isinstance(v, bool) else v)' \"$2\" \"$6\"");
    char *path;
    cr_assert(asprintf(&path, "%s:%s", bin, getenv("PATH")) > 0);
    setenv("PATH", path, 1);
    char *fake = realpath(t_env_or("MACVM_FAKE_BIN", "build/macvm-fake"), NULL);
    cr_assert_not_null(fake);
    setenv("MACVM", fake, 1);
    setenv("MACVM_FAKE_RUN_SECONDS", "30", 1);   /* runs until mac-check's Ctrl-C */
    char *out = t_path_join(t_tmp, "mac-check");
    setenv("MAC_CHECK_OUT", out, 1);             /* not the repository's build/ */
    free(vt_log_tool(t_tmp));
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", VT_GIB);
    const char *argv[] = {"sh", "tests/mac-check.sh", b, "1", NULL};
    struct proc_result r = run_argv(argv);
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.out, "available                 recovery"), "the probe first: %s", r.out);
    cr_expect(strstr(r.out, "| mode | started | stopped cleanly | time to start | log lines | PVG negotiation seen |"),
              "%s", r.out);
    cr_expect(strstr(r.out, "| normal | true | no (interrupted) | ") && strstr(r.out, "| recovery | true | "),
              "a row per booted mode: %s", r.out);
    cr_expect(strstr(r.out, "| debug-stub | not available (probe) |"), "not entitled: not booted: %s", r.out);
    cr_expect(strstr(r.out, "/mac-check/table.md and"), "%s", r.out);
    char *table = t_path_join(out, "table.md");
    cr_expect(vt_exists(table), "the table is kept");
    free(table);
    free(out);
    char *logs = t_path_join(t_tmp, "VM.bundle.ephemeral-logs");
    cr_expect_eq(vt_count_entries(logs), 2, "two disposable runs recorded");
    proc_result_free(&r);
    free(logs);
    free(b);
    free(fake);
    free(path);
    free(bin);
}

/* The rows of seeing inside the guest (issue 10): each once, and where the
 * panic action and the shared folder's tag are on each macOS. */
Test(probe, inspection_rows_follow_the_host_macos, .init = t_tmp_init, .fini = t_tmp_fini)
{
    static const char *const rows[] = {"console", "serial", "panic-action", "shares", "screenshot", "serial-number",
                                       "new-identity", NULL};
    char *out = tp_probe_json(NULL, 0);
    for (int i = 0; rows[i]; i++) {
        char expr[128];
        snprintf(expr, sizeof expr, "str(sum(r['feature'] == '%s' for r in d))", rows[i]);
        char *n = tk_py(out, false, expr);
        cr_expect_str_eq(n, "1", "feature %s should appear once", rows[i]);
        free(n);
    }
    tp_expect_row(out, "console", "available", "/dev/cu.virtio");
    tp_expect_row(out, "serial", "needs-private-entitlement", "com.apple.private.virtualization");
    tp_expect_row(out, "serial-number", "needs-private-entitlement", "experimental");
    tp_expect_row(out, "panic-action", "available", "_setPanicAction: of the start options (1 halts, 0 restarts) "
                  "and a panic device");
    tp_expect_row(out, "shares", "available", "/Volumes/My Shared Files");
    tp_expect_row(out, "screenshot", "available", "experimental");
    free(out);

    setenv("MACVM_FAKE_OS", "12.6", 1);
    out = tp_probe_json(NULL, 0);
    tp_expect_row(out, "panic-action", "available", "panicAction of the private start options");
    tp_expect_row(out, "shares", "available", "mount_virtiofs macvm");
    tp_expect_row(out, "screenshot", "missing", "needs macOS 14");
    tp_expect_row(out, "serial-number", "missing", "needs macOS 13");
    free(out);
    setenv("MACVM_FAKE_OS", "15.6", 1);
    out = tp_probe_json(NULL, 0);
    tp_expect_row(out, "screenshot", "available", "turned it off on 15.4+");
    free(out);
    setenv("MACVM_FAKE_OS", "26.1", 1);
    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    setenv("MACVM_FAKE_MISSING", "_VZPvPanicDeviceConfiguration,VZMacMachineIdentifier "
           "+_machineIdentifierForVirtualMachineCloneWithSerialNumber:", 1);
    out = tp_probe_json(NULL, 0);
    tp_expect_row(out, "panic-action", "missing", "lacks _VZPvPanicDeviceConfiguration");
    tp_expect_row(out, "new-identity", "missing", "+_machineIdentifierForVirtualMachineCloneWithSerialNumber:");
    tp_expect_row(out, "serial", "available", "PL011");
    free(out);
}
