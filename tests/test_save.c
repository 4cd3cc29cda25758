/* test_save.c -- which keyboards and pointing devices a run gets, and whether
 * it can save its state (issue 8, section 1), through --dry-run and the fake
 * bridge.
 *
 * Contract under test:
 *   - Devices follow the host's macOS and the guest's (Config.plist's
 *     InstalledProductVersion, else the version of the bundle's
 *     RestoreImage.ipsw, else unknown): the Mac keyboard for 14+ guests on
 *     14+ hosts, the trackpad for 13+ on 13+; USB ones only where the guest
 *     needs them; a guest of unknown version gets both kinds.
 *   - A run can save (save.possible) only on a 14+ host, with no USB input
 *     device, a normal start, not --ephemeral, and a window or --save-on-stop;
 *     save.why_not names the cause (the host's version, the guest's version or
 *     an unknown one with the plutil command that records it, the start mode,
 *     --ephemeral, headless).  Audio does not keep a run from saving.
 *   - --save-on-stop that cannot save is refused up front: 78 for the
 *     guest's devices, 69 for the host, 64 for a start mode.
 *   - A saved state this run's devices could not restore is kept and the run
 *     refused before the bridge (78).
 *   - A window run that cannot save says so in one line before it starts.
 *   - The bridge gets exactly the devices and save decision the dry run showed.
 */
#include "test_vm_common.c"

/* A bundle of Apple's sample (no Config.plist) whose Config.plist then says
 * InstalledProductVersion = version, written by Python's plistlib (XML; binary
 * for control characters, which XML cannot hold; version NULL: none, so the
 * guest's version is unknown).  Returns its path (free it). */
static char *ts_bundle(const char *name, const char *version)
{
    char *b = vt_bundle(t_tmp, name, "apple", 4 * VT_GIB);
    if (!version)
        return b;
    char *config = t_path_join(b, "Config.plist");
    const char *argv[] = {"python3", "-c",
                          "import plistlib, sys\n"
                          "d = {'InstalledProductVersion': sys.argv[2]}\n"
                          "try: data = plistlib.dumps(d)\n"   /* XML, as plutil writes it */
                          "except ValueError: data = plistlib.dumps(d, fmt=plistlib.FMT_BINARY)\n"   /* control chars */
                          "open(sys.argv[1], 'wb').write(data)\n",
                          config, version, NULL};
    struct proc_result r = run_argv(argv);
    cr_assert_eq(r.status, 0, "plistlib: %s", r.err);
    proc_result_free(&r);
    free(config);
    return b;
}

/* Dry run of bundle with opts (NULL-terminated) on a fake host running os. */
static struct proc_result ts_dry(const char *os, const char *bundle, const char *const *opts)
{
    setenv("MACVM_FAKE_OS", os, 1);
    const char *argv[T_MAX_ARGS];
    int n = 0;
    argv[n++] = t_env_or("MACVM_FAKE_BIN", "build/macvm-fake");
    argv[n++] = "run";
    argv[n++] = "--dry-run";
    argv[n++] = "--json";
    for (int i = 0; opts && opts[i]; i++)
        argv[n++] = opts[i];
    argv[n++] = bundle;
    argv[n] = NULL;
    return run_argv(argv);
}

struct ts_case {
    const char *host, *guest;           /* guest NULL: unknown */
    const char *opts[3];               /* NULL-terminated */
    const char *keyboards[3], *pointers[3];
    bool save;
    const char *why[4];                 /* in save.why_not (NULL-terminated) */
};

static const struct ts_case ts_cases[] = {
    {"14.5", "14.5", {NULL}, {"mac"}, {"mac"}, true, {NULL}},
    {"26.0", "26.0", {NULL}, {"mac"}, {"mac"}, true, {NULL}},
    {"14.5", "14.5", {"--audio"}, {"mac"}, {"mac"}, true, {NULL}},
    {"14.5", "13.6", {NULL}, {"usb"}, {"mac"}, false,
     {"macOS 13.6 in the VM", "USB keyboard", "plutil -replace InstalledProductVersion -string 14.0"}},
    {"14.5", "12.6", {NULL}, {"usb"}, {"usb"}, false, {"macOS 12.6 in the VM", "USB keyboard"}},
    {"14.5", NULL, {NULL}, {"mac", "usb"}, {"mac", "usb"}, false,
     {"version is unknown", "plutil -create xml1", "InstalledProductVersion"}},
    {"13.6", "14.5", {NULL}, {"usb"}, {"mac"}, false, {"this Mac runs macOS 13.6", "14 or later on the host"}},
    {"12.6", "14.5", {NULL}, {"usb"}, {"usb"}, false, {"macOS 12.6"}},
    {"14.5", "14.5", {"--headless"}, {"mac"}, {"mac"}, false, {"headless", "--save-on-stop"}},
    {"14.5", "14.5", {"--headless", "--save-on-stop"}, {"mac"}, {"mac"}, true, {NULL}},
    {"14.5", "14.5", {"--recovery"}, {"mac"}, {"mac"}, false, {"recovery start is not saved"}},
    {"14.5", "14.5", {"--ephemeral"}, {"mac"}, {"mac"}, false, {"--ephemeral"}},
};

Test(save, devices_and_saving_by_host_guest_and_options, .init = vt_init, .fini = t_tmp_fini)
{
    for (size_t i = 0; i < sizeof ts_cases / sizeof *ts_cases; i++) {
        const struct ts_case *c = &ts_cases[i];
        char name[64];
        snprintf(name, sizeof name, "VM%zu.bundle", i);
        char *b = ts_bundle(name, c->guest);
        struct proc_result r = ts_dry(c->host, b, c->opts);
        char what[160];
        snprintf(what, sizeof what, "host %s, guest %s, %s", c->host, c->guest ? c->guest : "unknown",
                 c->opts[0] ? c->opts[0] : "no option");
        const struct plist *j = vt_expect_json_ok(&r, what);
        vt_json_strings(j, "keyboards", c->keyboards, r.out);
        vt_json_strings(j, "pointing_devices", c->pointers, r.out);
        vt_json_bool(j, "save.possible", c->save, r.out);
        if (c->save) {
            vt_json_null(j, "save.why_not", r.out);
        } else {
            const struct plist *why = vt_get(j, "save.why_not");
            cr_assert(why && why->type == PLIST_STRING, "%s: save.why_not is a string: %s", what, r.out);
            for (int k = 0; c->why[k]; k++)
                cr_expect(strstr(why->string, c->why[k]), "%s: why_not should say \"%s\": %s", what, c->why[k],
                          why->string);
        }
        vt_json_bool(j, "save_on_quit", c->save && !(c->opts[0] && !strcmp(c->opts[0], "--headless")), r.out);
        proc_result_free(&r);
        free(b);
    }
}

/* The plutil command that save.why_not gives makes the run save, as a Mac's plutil would write it. */
Test(save, recording_the_version_makes_the_run_save, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = ts_bundle("VM.bundle", "13.6");
    struct proc_result r = ts_dry("14.5", b, NULL);
    vt_json_bool(vt_expect_json_ok(&r, "13.6 guest"), "save.possible", false, r.out);
    proc_result_free(&r);
    free(b);
    b = ts_bundle("VM2.bundle", "14.0");
    r = ts_dry("14.5", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "after recording 14.0");
    vt_json_bool(j, "save.possible", true, r.out);
    static const char *const mac[] = {"mac", NULL};
    vt_json_strings(j, "keyboards", mac, r.out);
    proc_result_free(&r);
    free(b);
}

/* A bundle of Apple's sample that kept its RestoreImage.ipsw: the guest is the image's macOS. */
Test(save, restore_image_in_the_bundle_names_the_guest, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = ts_bundle("VM.bundle", NULL);
    char *img = fixture("ipsw/macOS-13.0-vm-plain.ipsw"), *kept = t_path_join(b, "RestoreImage.ipsw");
    vt_copy_file(img, kept);
    struct proc_result r = ts_dry("14.5", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "RestoreImage.ipsw of 13.0");
    static const char *const usb[] = {"usb", NULL}, *const mac[] = {"mac", NULL};
    vt_json_strings(j, "keyboards", usb, r.out);
    vt_json_strings(j, "pointing_devices", mac, r.out);
    cr_expect(strstr(r.out, "macOS 13.0 in the VM"), "why_not names the image's version: %s", r.out);
    proc_result_free(&r);

    /* A FIFO where the image would be is not waited on: the version stays unknown. */
    unlink(kept);
    cr_assert_eq(mkfifo(kept, 0644), 0, "mkfifo: %s", strerror(errno));
    r = ts_dry("14.5", b, NULL);
    j = vt_expect_json_ok(&r, "a FIFO as RestoreImage.ipsw");
    static const char *const both[] = {"mac", "usb", NULL};
    vt_json_strings(j, "keyboards", both, r.out);
    proc_result_free(&r);
    free(kept);
    free(img);
    free(b);
}

Test(save, save_on_stop_that_cannot_save_is_refused, .init = vt_init, .fini = t_tmp_fini)
{
    static const char *const save[] = {"--save-on-stop", NULL};
    char *old = ts_bundle("Old.bundle", "13.6"), *unknown = ts_bundle("Unknown.bundle", NULL);
    struct proc_result r = ts_dry("14.5", old, save);
    vt_expect_refusal(&r, EX_CONFIG, "--save-on-stop: macOS 13.6 in the VM", "13.6 guest");
    proc_result_free(&r);
    r = ts_dry("14.5", unknown, save);
    vt_expect_refusal(&r, EX_CONFIG, "plutil -create xml1", "unknown guest");
    proc_result_free(&r);
    char *b = ts_bundle("New.bundle", "14.5");
    static const char *const recovery[] = {"--save-on-stop", "--recovery", NULL};
    r = ts_dry("14.5", b, recovery);
    vt_expect_refusal(&r, EX_USAGE, "normal starts", "--save-on-stop --recovery");
    vt_expect_refusal(&r, EX_USAGE, "this --recovery one): use one or the other", "what to do");
    proc_result_free(&r);
    r = ts_dry("13.6", b, save);
    vt_expect_refusal(&r, EX_UNAVAILABLE, "13.6", "host 13.6");
    proc_result_free(&r);
    free(b);
    free(unknown);
    free(old);
}

/* A saved state the run's devices could not restore is kept, and the VM not started. */
Test(save, saved_state_the_devices_cannot_restore_is_kept, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = ts_bundle("VM.bundle", "13.6");
    char *save = t_path_join(b, "SaveFile.vzvmsave");
    vt_fill(save, 0, 64 * VT_KIB, 3);
    char *before = vt_snapshot(b);
    struct proc_result r = ts_dry("14.5", b, NULL);
    vt_expect_refusal(&r, EX_CONFIG, "SaveFile.vzvmsave", "dry run");
    cr_expect(strstr(r.err, "kept") && strstr(r.err, "USB keyboard"), "says it is kept and why: %s", r.err);
    proc_result_free(&r);
    char *spec = t_path_join(t_tmp, "spec.txt");
    setenv("MACVM_FAKE_SPEC", spec, 1);
    r = run_fake("run", "--no-log", b, NULL);
    vt_expect_refusal(&r, EX_CONFIG, "SaveFile.vzvmsave", "the run");
    cr_expect(!vt_exists(spec), "the bridge was not called");
    proc_result_free(&r);
    vt_expect_unchanged(b, before, "a refused restore");
    free(spec);
    free(save);
    free(b);
}

Test(save, a_window_run_that_cannot_save_says_so_once, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = ts_bundle("VM.bundle", "13.6");
    setenv("MACVM_FAKE_OS", "14.5", 1);
    struct proc_result r = run_fake("run", "--no-log", b, NULL);
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    cr_expect_eq(tk_count(r.out, "cannot save its state"), 1, "one line up front: %s", r.out);
    cr_expect(strstr(r.out, "Quit asks the guest to shut down") && strstr(r.out, "macOS 13.6"), "%s", r.out);
    proc_result_free(&r);
    char *ok = ts_bundle("New.bundle", "14.5");
    r = run_fake("run", "--no-log", ok, NULL);
    cr_expect(!strstr(r.out, "cannot save"), "a run that saves says nothing: %s", r.out);
    proc_result_free(&r);
    r = run_fake("run", "--no-log", "--headless", b, NULL);
    cr_expect(!strstr(r.out, "cannot save"), "headless (no Quit) says nothing: %s", r.out);
    proc_result_free(&r);
    free(ok);
    free(b);
}

Test(save, the_bridge_gets_the_devices_the_dry_run_showed, .init = vt_init, .fini = t_tmp_fini)
{
    const char *versions[] = {"14.5", "13.6", NULL};
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "VM%d.bundle", i);
        char *b = ts_bundle(name, versions[i]);
        static const char *const opts[] = {"--no-log", NULL};
        setenv("MACVM_FAKE_OS", "14.5", 1);
        vt_bridge_gets_dry_run(b, opts);
        free(b);
    }
}

/* ---------------------------- how runs end ---------------------------- */

/* macvm_stop_action: what the bridge does at each event, as a table. */
Test(save, stop_actions)
{
    static const struct {
        bool quit_saves, stop_saves, failed;
        enum stop_event event;
        bool stopping;
        enum stop_action want;
        enum vm_start_mode mode;
    } cases[] = {
        {false, false, false, STOP_EVENT_QUIT, false, STOP_ACTION_FORCE, START_DFU},   /* no macOS to ask */
        {false, false, false, STOP_EVENT_QUIT, false, STOP_ACTION_FORCE, START_IBOOT_STAGE1},
        {false, false, false, STOP_EVENT_QUIT, false, STOP_ACTION_REQUEST, START_RECOVERY},
        {false, false, false, STOP_EVENT_INTERRUPT, false, STOP_ACTION_REQUEST, START_DFU},
        {true, false, false, STOP_EVENT_QUIT, false, STOP_ACTION_SAVE, START_NORMAL},
        {false, false, false, STOP_EVENT_QUIT, false, STOP_ACTION_REQUEST, START_NORMAL},   /* never a silent hard stop */
        {true, false, true, STOP_EVENT_QUIT, false, STOP_ACTION_REQUEST, START_NORMAL},     /* a save that failed is not retried */
        {true, false, false, STOP_EVENT_QUIT, true, STOP_ACTION_NONE, START_NORMAL},        /* Quit again: already on its way */
        {false, true, false, STOP_EVENT_QUIT, false, STOP_ACTION_SAVE, START_NORMAL},
        {false, false, false, STOP_EVENT_INTERRUPT, false, STOP_ACTION_REQUEST, START_NORMAL},
        {false, true, false, STOP_EVENT_INTERRUPT, false, STOP_ACTION_SAVE, START_NORMAL},
        {true, false, false, STOP_EVENT_INTERRUPT, false, STOP_ACTION_REQUEST, START_NORMAL}, /* Ctrl-C saves only with --save-on-stop */
        {false, true, true, STOP_EVENT_INTERRUPT, false, STOP_ACTION_REQUEST, START_NORMAL},
        {false, false, false, STOP_EVENT_INTERRUPT, true, STOP_ACTION_FORCE, START_NORMAL},  /* the second Ctrl-C */
        {true, true, false, STOP_EVENT_STOP_ITEM, false, STOP_ACTION_REQUEST, START_NORMAL},
        {true, true, false, STOP_EVENT_FORCE_ITEM, false, STOP_ACTION_FORCE, START_NORMAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct vm_spec s = {.save_on_quit = cases[i].quit_saves, .save_on_stop = cases[i].stop_saves,
                            .start_mode = cases[i].mode};
        struct run_outcome o = {0};
        if (cases[i].failed)
            snprintf(o.save_failure, sizeof o.save_failure, "pause: failed");
        cr_expect_eq(macvm_stop_action(&s, &o, cases[i].event, cases[i].stopping), cases[i].want, "case %zu", i);
    }
}

/* Runs the fake on bundle (no log) with the events; returns the result. */
static struct proc_result ts_run(const char *bundle, const char *events, const char *opt)
{
    setenv("MACVM_FAKE_EVENTS", events, 1);
    return opt ? run_fake("run", "--no-log", opt, bundle, NULL) : run_fake("run", "--no-log", bundle, NULL);
}

/* The value of expr (Python, d = run.json) for the bundle's newest run (free it). */
static char *ts_record(const char *bundle, const char *expr)
{
    char *run = tk_newest_run(bundle), *json = t_path_join(run, "run.json");
    char *v = tk_py(json, false, expr);
    free(json);
    free(run);
    return v;
}

#define ts_expect_record(bundle, expr, want)                                                                    \
    do {                                                                                                        \
        char *got_ = ts_record((bundle), (expr));                                                               \
        cr_expect_str_eq(got_, (want), "run.json: %s", (expr));                                                 \
        free(got_);                                                                                             \
    } while (0)

Test(save, quit_saves_where_the_run_can, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = ts_bundle("VM.bundle", "14.5"), *save = t_path_join(b, "SaveFile.vzvmsave");
    setenv("MACVM_FAKE_OS", "14.5", 1);
    struct proc_result r = ts_run(b, "quit", NULL);
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    cr_expect(vt_exists(save), "Quit saved the state");
    ts_expect_record(b, "d['outcome']['result']", "saved");
    ts_expect_record(b, "str(d['outcome']['save_failure'])", "None");
    ts_expect_record(b, "str(d['outcome']['vm_started'] and d['outcome']['start_ms'] >= 0)", "True");
    proc_result_free(&r);
    free(save);
    free(b);
}

Test(save, quit_asks_the_guest_when_the_run_cannot_save, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = ts_bundle("VM.bundle", "13.6"), *save = t_path_join(b, "SaveFile.vzvmsave");
    setenv("MACVM_FAKE_OS", "14.5", 1);
    struct proc_result r = ts_run(b, "quit", NULL);
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    cr_expect(!vt_exists(save), "nothing saved");
    ts_expect_record(b, "d['outcome']['result']", "guest-stopped");
    proc_result_free(&r);
    /* Quit again while the guest takes its time: still no hard stop; Force Stop is one. */
    setenv("MACVM_FAKE_GUEST", "ignores", 1);
    r = ts_run(b, "quit,quit", NULL);
    ts_expect_record(b, "d['outcome']['result']", "guest-stopped");
    proc_result_free(&r);
    r = ts_run(b, "quit,force", NULL);
    cr_expect_eq(r.status, 130, "forced: exit %d; %s", r.status, r.err);
    ts_expect_record(b, "d['outcome']['result']", "forced-stop");
    proc_result_free(&r);
    r = ts_run(b, "ctrl-c,ctrl-c", NULL);
    ts_expect_record(b, "d['outcome']['result']", "forced-stop");
    proc_result_free(&r);
    free(save);
    free(b);
}

/* A pause or save that fails, or a configuration Virtualization will not save:
 * said in one line, recorded, and the guest asked to shut down. */
Test(save, a_failed_save_asks_the_guest_to_shut_down, .init = vt_init, .fini = t_tmp_fini)
{
    static const struct { const char *step, *line, *record; } cases[] = {
        {"pause", "the state was not saved (pause failed", "pause: "},
        {"save", "the state was not saved (save failed", "save: "},
        {"validation", "Virtualization says this configuration cannot be saved", "validation: "},
    };
    setenv("MACVM_FAKE_OS", "14.5", 1);
    for (size_t i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "VM%zu.bundle", i);
        char *b = ts_bundle(name, "14.5"), *save = t_path_join(b, "SaveFile.vzvmsave");
        setenv("MACVM_FAKE_SAVE", cases[i].step, 1);
        struct proc_result r = ts_run(b, "quit", NULL);
        cr_expect_eq(r.status, 0, "%s: exit %d; %s", cases[i].step, r.status, r.err);
        cr_expect_eq(tk_count(r.err, cases[i].line), 1, "%s: one line: %s", cases[i].step, r.err);
        cr_expect(!vt_exists(save), "%s: nothing saved", cases[i].step);
        ts_expect_record(b, "d['outcome']['result']", "guest-stopped");
        char *failure = ts_record(b, "d['outcome']['save_failure']");
        cr_expect(strncmp(failure, cases[i].record, strlen(cases[i].record)) == 0, "%s: %s", cases[i].step, failure);
        free(failure);
        proc_result_free(&r);
        free(save);
        free(b);
    }
}

Test(save, ctrl_c_saves_with_save_on_stop, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = ts_bundle("VM.bundle", "14.5"), *save = t_path_join(b, "SaveFile.vzvmsave");
    setenv("MACVM_FAKE_OS", "14.5", 1);
    struct proc_result r = ts_run(b, "ctrl-c", "--headless");
    ts_expect_record(b, "d['outcome']['result']", "guest-stopped");
    cr_expect(!vt_exists(save), "headless without --save-on-stop: Ctrl-C asks the guest");
    proc_result_free(&r);
    r = ts_run(b, "ctrl-c", "--save-on-stop");
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    ts_expect_record(b, "d['outcome']['result']", "saved");
    cr_expect(vt_exists(save), "--save-on-stop: Ctrl-C saved");
    proc_result_free(&r);
    free(save);
    free(b);
}

/* ------------------------ keeping the save file ------------------------ */

Test(save, a_restore_virtualization_refuses_keeps_the_file, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = ts_bundle("VM.bundle", "14.5"), *save = t_path_join(b, "SaveFile.vzvmsave");
    vt_fill(save, 0, 64 * VT_KIB, 5);
    char *hash = vt_snapshot(save);
    setenv("MACVM_FAKE_OS", "14.5", 1);
    setenv("MACVM_FAKE_SAVE", "validation", 1);
    struct proc_result r = ts_run(b, "quit", NULL);
    cr_expect_eq(r.status, EX_CONFIG, "exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.err, "the saved state is kept") && strstr(r.err, "remove SaveFile.vzvmsave"),
              "says it is kept, and the fix: %s", r.err);
    vt_expect_unchanged(save, hash, "a refused restore");
    ts_expect_record(b, "str((d['outcome']['restore_refused'], d['outcome']['restore_attempted']))", "(True, False)");
    ts_expect_record(b, "str((d['outcome']['vm_started'], d['outcome']['start_ms']))", "(False, None)");
    proc_result_free(&r);
    free(save);
    free(b);
}

Test(save, a_restore_that_was_tried_uses_the_file_up, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = ts_bundle("VM.bundle", "14.5"), *save = t_path_join(b, "SaveFile.vzvmsave");
    vt_fill(save, 0, 64 * VT_KIB, 5);
    setenv("MACVM_FAKE_OS", "14.5", 1);
    setenv("MACVM_FAKE_RESTORE", "fail", 1);
    struct proc_result r = ts_run(b, "quit", "--headless");
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.err, "started fresh"), "says the restore failed: %s", r.err);
    cr_expect(!vt_exists(save), "a restore that was tried removes the file");
    ts_expect_record(b, "str((d['outcome']['restore_attempted'], d['outcome']['restored_state']))", "(True, False)");
    proc_result_free(&r);
    free(save);
    free(b);
}

/* ------------------------------ the debug stub's port ------------------------------ */

/* The port the running stub reports is the one to attach to; where this macOS
 * does not say (or says 0), the one asked for, else "port unknown" and the
 * fix, never 127.0.0.1:0; run.json says where the port came from. */
Test(save, debug_stub_port_known_or_said_unknown, .init = vt_init, .fini = t_tmp_fini)
{
    static const struct { const char *asked, *reported, *line, *port, *source; } cases[] = {
        {NULL, "49160", "gdb-remote 127.0.0.1:49160", "49160", "reported"},
        {"5555", "5555", "gdb-remote 127.0.0.1:5555", "5555", "reported"},
        {"5555", "0", "gdb-remote 127.0.0.1:5555", "5555", "requested"},
        {NULL, "0", "port unknown", "None", "unknown"},
    };
    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[32];
        snprintf(name, sizeof name, "VM%zu.bundle", i);
        char *b = ts_bundle(name, "14.5");
        setenv("MACVM_FAKE_STUB_PORT", cases[i].reported, 1);
        struct proc_result r = cases[i].asked
                                   ? run_fake("run", "--no-log", "--headless", "--debug-stub", cases[i].asked, b, NULL)
                                   : run_fake("run", "--no-log", "--headless", "--debug-stub", b, NULL);
        cr_expect_eq(r.status, 0, "case %zu: exit %d; %s", i, r.status, r.err);
        cr_expect(strstr(r.out, cases[i].line), "case %zu: want \"%s\": %s", i, cases[i].line, r.out);
        cr_expect(!strstr(r.out, ":0\""), "case %zu: never port 0: %s", i, r.out);
        if (!strcmp(cases[i].source, "unknown"))
            cr_expect(strstr(r.out, "--debug-stub PORT"), "the fix: %s", r.out);
        ts_expect_record(b, "str(d['outcome']['debug_stub_port'])", cases[i].port);
        ts_expect_record(b, "d['outcome']['debug_stub_port_source']", cases[i].source);
        proc_result_free(&r);
        free(b);
    }
}

/* ------------------------------ disk modes ------------------------------ */

Test(save, disk_modes, .init = vt_init, .fini = t_tmp_fini)
{
    free(vt_log_tool(t_tmp));
    char *b = ts_bundle("VM.bundle", "14.5");
    struct proc_result r = ts_dry("14.5", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "defaults");
    vt_json_str(j, "disk.caching", "automatic", r.out);   /* Apple's */
    vt_json_str(j, "disk.sync", "full", r.out);
    proc_result_free(&r);
    static const char *const modes[][2] = {{"cached", "fsync"}, {"uncached", "none"}, {"automatic", "full"}};
    for (int i = 0; i < 3; i++) {
        const char *opts[] = {"--disk-cache", modes[i][0], "--disk-sync", modes[i][1], NULL};
        r = ts_dry("14.5", b, opts);
        j = vt_expect_json_ok(&r, modes[i][0]);
        vt_json_str(j, "disk.caching", modes[i][0], r.out);
        vt_json_str(j, "disk.sync", modes[i][1], r.out);
        proc_result_free(&r);
        vt_bridge_gets_dry_run(b, opts);   /* the bridge gets them */
    }
    /* recorded in run.json and shown in the Feedback report */
    unsetenv("MACVM_FAKE_SPEC");
    r = run_fake("run", "--disk-cache", "cached", "--disk-sync", "fsync", b, NULL);
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.err, "can corrupt") == NULL, "fsync needs no warning: %s", r.err);
    proc_result_free(&r);
    r = run_fake("run", "--disk-sync", "none", b, NULL);
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.err, "warning: --disk-sync none: a crash or power loss of this Mac can corrupt"),
              "a run that never syncs its disk says what it risks: %s", r.err);
    proc_result_free(&r);
    r = run_fake("run", "--disk-cache", "cached", "--disk-sync", "fsync", b, NULL);
    ts_expect_record(b, "d['spec']['disk']['caching'] + ' ' + d['spec']['disk']['sync']", "cached fsync");
    proc_result_free(&r);
    r = run_fake("feedback", b, NULL);
    cr_expect(strstr(r.out, "- disk: caching cached, sync fsync"), "the report shows them: %s", r.out);
    proc_result_free(&r);
    static const char *const bad[][2] = {{"--disk-cache", "fast"}, {"--disk-sync", "sometimes"}, {"--disk-sync", ""}};
    for (int i = 0; i < 3; i++) {
        const char *opts[] = {bad[i][0], bad[i][1], NULL};
        r = ts_dry("14.5", b, opts);
        vt_expect_refusal(&r, EX_USAGE, bad[i][0], bad[i][1]);
        proc_result_free(&r);
    }
    free(b);
}

/* The iBoot stops are experimental: the run says once that the stop may not happen. */
Test(save, iboot_stops_say_they_are_experimental, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = ts_bundle("VM.bundle", "14.5");
    static const char *const modes[] = {"--iboot-stage1", "--iboot-stage2", "--recovery"};
    for (int i = 0; i < 3; i++) {
        struct proc_result r = run_fake("run", "--no-log", modes[i], b, NULL);
        cr_expect_eq(r.status, 0, "%s: exit %d; %s", modes[i], r.status, r.err);
        cr_expect_eq(tk_count(r.out, "experimental"), i < 2 ? 1 : 0, "%s: %s", modes[i], r.out);
        proc_result_free(&r);
    }
    struct proc_result r = run_fake("help", "run", NULL);
    cr_expect_eq(tk_count(r.out, "experimental: stop in iBoot"), 2, "help labels both: %s", r.out);
    proc_result_free(&r);
    free(b);
}

/* ------------------------ what the bridge asks macvm.c ------------------------ */

Test(save, window_size_in_points)
{
    struct vm_spec s = {.display_width = 2560, .display_height = 1600};
    double w, h;
    macvm_window_size(&s, 2, &w, &h);
    cr_expect(w == 1280 && h == 800, "Retina: one guest pixel per screen pixel: %gx%g", w, h);
    macvm_window_size(&s, 1, &w, &h);
    cr_expect(w == 2560 && h == 1600, "%gx%g", w, h);
    macvm_window_size(&s, 0, &w, &h);   /* no screen */
    cr_expect(w == 2560 && h == 1600, "a missing scale counts as 1: %gx%g", w, h);
}

Test(save, download_responses_and_resume_data)
{
    cr_expect(macvm_download_complete(200) && macvm_download_complete(206) && macvm_download_complete(0),
              "2xx and a response that is not HTTP bring the file");
    cr_expect(!macvm_download_complete(404) && !macvm_download_complete(302) && !macvm_download_complete(500),
              "an error page is not the image");
    cr_expect(macvm_keeps_resume_data(false, true), "an interrupted download keeps its resume data");
    cr_expect(!macvm_keeps_resume_data(true, true) && !macvm_keeps_resume_data(false, false),
              "a complete download, or none given: the old data is stale");
}

Test(save, a_network_disconnect_is_recorded, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = ts_bundle("VM.bundle", "14.5");
    setenv("MACVM_FAKE_NET_DISCONNECT", "The network attachment was disconnected (vmnet 1001)", 1);
    struct proc_result r = run_fake("run", "--no-log", b, NULL);
    cr_expect_eq(r.status, 0, "the run goes on: exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.err, "network was disconnected"), "said: %s", r.err);
    ts_expect_record(b, "d['outcome']['network_disconnected']", "The network attachment was disconnected (vmnet 1001)");
    proc_result_free(&r);
    unsetenv("MACVM_FAKE_NET_DISCONNECT");
    r = run_fake("run", "--no-log", b, NULL);
    ts_expect_record(b, "str(d['outcome']['network_disconnected'])", "None");
    proc_result_free(&r);
    free(b);
}

/* A version that is not one (control characters, words) counts as unknown and is never printed. */
Test(save, a_hostile_guest_version_counts_as_unknown, .init = vt_init, .fini = t_tmp_fini)
{
    static const char *const versions[] = {("\x1b]0;owned\x07" "14.5"), "fourteen", "14.5\n", ""};
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "VM%d.bundle", i);
        char *b = ts_bundle(name, versions[i]);
        struct proc_result r = ts_dry("14.5", b, NULL);
        const struct plist *j = vt_expect_json_ok(&r, "hostile version");
        static const char *const both[] = {"mac", "usb", NULL};
        vt_json_strings(j, "keyboards", both, r.out);
        cr_expect(strstr(r.out, "version is unknown") && !strstr(r.out, "owned") && !strstr(r.out, "fourteen"),
                  "case %d: %s", i, r.out);
        proc_result_free(&r);
        free(b);
    }
}

/* What went wrong with saving, the network or the stub's port reaches the Feedback report. */
Test(save, the_feedback_report_says_what_went_wrong, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = ts_bundle("VM.bundle", "14.5");
    setenv("MACVM_FAKE_SAVE", "pause", 1);
    setenv("MACVM_FAKE_NET_DISCONNECT", "vmnet went away", 1);
    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    setenv("MACVM_FAKE_STUB_PORT", "0", 1);
    struct proc_result r = ts_run(b, "quit", "--debug-stub");
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    proc_result_free(&r);
    r = run_fake("feedback", "--no-redact", b, NULL);
    cr_expect(strstr(r.out, "- state not saved because: pause: "), "%s", r.out);
    cr_expect(strstr(r.out, "- network disconnected during the run: vmnet went away"), "%s", r.out);
    cr_expect(strstr(r.out, "- debug stub port: unknown"), "%s", r.out);
    proc_result_free(&r);
    free(b);
}

/* Virtualization's save check is asked on every macOS 14+ run and recorded, so a
 * prediction of macvm's that was too strict shows in the report. */
Test(save, virtualizations_save_check_is_recorded, .init = vt_init, .fini = t_tmp_fini)
{
    static const struct { const char *host, *guest, *usb_saves, *want; } cases[] = {
        {"14.5", "14.5", "0", "supported"},
        {"14.5", "13.6", "0", "refused"},
        {"14.5", "13.6", "1", "supported"},
        {"13.6", "14.5", "0", "not-asked"},
    };
    for (size_t i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "VM%zu.bundle", i);
        char *b = ts_bundle(name, cases[i].guest);
        setenv("MACVM_FAKE_OS", cases[i].host, 1);
        setenv("MACVM_FAKE_USB_SAVES", cases[i].usb_saves, 1);
        struct proc_result r = run_fake("run", "--no-log", "--headless", b, NULL);
        cr_expect_eq(r.status, 0, "case %zu: exit %d; %s", i, r.status, r.err);
        ts_expect_record(b, "d['outcome']['save_check']", cases[i].want);
        proc_result_free(&r);
        r = run_fake("feedback", b, NULL);
        cr_expect_eq(strstr(r.out, "a rule of macvm's is too strict") != NULL, i == 2, "case %zu: %s", i, r.out);
        proc_result_free(&r);
        free(b);
    }
}
