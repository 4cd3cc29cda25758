/* test_inspect.c -- seeing inside the guest: --console, --serial, --panic,
 * --share, --screenshot, install --serial-number, clone --new-identity, and
 * what info and feedback say about them, through the fake bridge.
 *
 * Contract under test (issue "See inside the guest"):
 *   - `run --dry-run --json` shows console, serial, panic_action, shares and
 *     screenshot (null or [] when off), and the fake bridge gets exactly that.
 *   - A run writes console.log and serial.log in its folder (the fake guest
 *     prints a line), and screen.png when an error or Ctrl-C ends it; run.json
 *     records the full paths; feedback shows the last lines and attaches them.
 *   - The panic action's value (halt 1, restart 0) and where it goes follow
 *     the host's macOS: 12 the private start options, 13-15 the start
 *     options, 26 the configuration; a panic device from 14.
 *   - Refused before the bridge runs: --serial without the private
 *     entitlement (69), --screenshot before macOS 14 (69), a --share that is
 *     missing (66), a file (64), two of one name (64), a fifth (64), bad
 *     --panic (64), --save-on-stop with a console on 14.x before 15.5 (69).
 *   - install --serial-number: 10 capital letters and digits (64 otherwise),
 *     macOS 13+ and the private entitlement (69), handed to the bridge.
 *   - clone --new-identity: a new ECID from the bridge, the iCloud note; a
 *     failing bridge leaves no clone; a saved state is refused (64); off a
 *     Mac 69.  The identity is given before the clone has its name: a clone
 *     whose report cannot be written (exit 74) still has its own ECID.  info decodes a serial number and names a bundle beside it
 *     with the same ECID.
 */
#include "test_vm_common.c"

static char *ti_spec(void)
{
    char *path = t_path_join(t_tmp, "spec.txt");
    unlink(path);
    setenv("MACVM_FAKE_SPEC", path, 1);
    return path;
}

/* Two folders to share, made in the test's folder: share/ and docs/. */
static void ti_folders(char **a, char **b)
{
    *a = t_path_join(t_tmp, "share");
    *b = t_path_join(t_tmp, "docs");
    vt_mkdir(*a);
    vt_mkdir(*b);
}

Test(inspect, dry_run_shows_every_field, .init = vt_init, .fini = t_tmp_fini)
{
    setenv("MACVM_FAKE_PRIVATE", "1", 1);   /* the fake as a Mac: --serial needs the entitlement */
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *sa, *sb;
    ti_folders(&sa, &sb);
    char ro[4200];
    snprintf(ro, sizeof ro, "%s:ro", sb);
    struct proc_result r = run_fake("run", "--dry-run", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "plain dry run");
    vt_json_null(j, "console", r.out);
    vt_json_null(j, "serial", r.out);
    vt_json_null(j, "panic_action", r.out);
    vt_json_null(j, "screenshot", r.out);
    cr_expect(strstr(r.out, "\"shares\":[]") != NULL, "no shares: %s", r.out);
    proc_result_free(&r);

    r = run_fake("run", "--dry-run", "--json", "--console", "--serial", "--panic", "halt", "--share", sa, "--share", ro,
                 "--screenshot", b, NULL);
    j = vt_expect_json_ok(&r, "dry run with everything");
    vt_json_str(j, "console.log", "console.log", r.out);
    vt_json_str(j, "serial.log", "serial.log", r.out);
    vt_json_str(j, "panic_action.action", "halt", r.out);
    vt_json_uint(j, "panic_action.value", 1, r.out);
    vt_json_str(j, "panic_action.via", "start-options", r.out);
    vt_json_bool(j, "panic_action.panic_device", true, r.out);
    vt_json_str(j, "shares.0.path", sa, r.out);
    vt_json_str(j, "shares.0.name", "share", r.out);
    vt_json_bool(j, "shares.0.read_only", false, r.out);
    vt_json_str(j, "shares.0.guest_path", "/Volumes/My Shared Files/share", r.out);
    vt_json_str(j, "shares.0.tag", "com.apple.virtio-fs.automount", r.out);
    vt_json_bool(j, "shares.1.read_only", true, r.out);
    vt_json_str(j, "shares.1.name", "docs", r.out);
    vt_json_str(j, "screenshot.file", "screen.png", r.out);
    vt_json_uint(j, "screenshot.timeout_ms", 5000, r.out);
    proc_result_free(&r);

    /* Off a Mac the panic path is the Mac's to decide; text says the same things. */
    r = run_macvm("run", "--dry-run", "--json", "--panic", "restart", b, NULL);
    j = vt_expect_json_ok(&r, "./macvm dry run");
    vt_json_uint(j, "panic_action.value", 0, r.out);
    vt_json_null(j, "panic_action.via", r.out);
    proc_result_free(&r);
    r = run_fake("run", "--dry-run", "--console", "--share", ro, b, NULL);
    cr_expect(strstr(r.out, "/dev/cu.virtio") && strstr(r.out, "read-only, in the guest /Volumes/My Shared Files/docs"),
              "text dry run: %s", r.out);
    proc_result_free(&r);
    free(sa);
    free(sb);
    free(b);
}

Test(inspect, bridge_gets_what_the_dry_run_showed, .init = vt_init, .fini = t_tmp_fini)
{
    free(vt_log_tool(t_tmp));
    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *sa, *sb;
    ti_folders(&sa, &sb);
    char ro[4200];
    snprintf(ro, sizeof ro, "%s:ro", sb);
    const char *opts[] = {"--console", "--serial", "--panic", "restart", "--share", sa, "--share", ro,
                          "--screenshot", NULL};
    vt_bridge_gets_dry_run(b, opts);
    free(sa);
    free(sb);
    free(b);
}

/* The files a run leaves, and what feedback makes of them. */
Test(inspect, console_serial_and_screen_land_in_the_run_folder, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    free(vt_log_tool(t_tmp));
    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    setenv("MACVM_FAKE_CONSOLE", "boot: iBoot-11881\n\x1b[1mpanic(cpu 0)\x1b[0m: oops\r\nlast line\n", 1);
    setenv("MACVM_FAKE_OUTCOME", "error:VZErrorDomain:1:Internal Virtualization error.", 1);
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    struct proc_result r = run_fake("run", "--console", "--serial", "--screenshot", b, NULL);
    cr_expect_eq(r.status, EX_SOFTWARE, "exit %d; %s", r.status, r.err);
    char *run = tk_newest_run(b);
    char *console = t_path_join(run, "console.log"), *serial = t_path_join(run, "serial.log");
    char *screen = t_path_join(run, "screen.png");
    cr_expect(strstr(r.err, "the screen as the run ended: ") && strstr(r.err, screen), "stderr: %s", r.err);
    proc_result_free(&r);
    size_t n;
    char *text = (char *)t_read_file(console, &n);
    cr_expect(strstr(text, "last line") != NULL, "console.log: %s", text);
    free(text);
    text = (char *)t_read_file(serial, &n);
    cr_expect(strstr(text, "iBoot") != NULL, "serial.log: %s", text);
    free(text);
    unsigned char *png = t_read_file(screen, &n);
    cr_expect(n > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0, "screen.png should be a PNG");
    free(png);
    text = vt_run_json(run);
    const struct plist *j = vt_json(text);
    vt_json_str(j, "spec.console.log", console, text);
    vt_json_str(j, "spec.serial.log", serial, text);
    vt_json_str(j, "spec.screenshot.file", screen, text);
    vt_json_str(j, "outcome.screenshot", "screen.png", text);
    free(text);

    r = run_fake("feedback", b, NULL);
    cr_expect_eq(r.status, 0, "feedback: %s", r.err);
    cr_expect(strstr(r.out, "## Guest console and serial") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "?[1mpanic(cpu 0)?[0m: oops\nlast line\n") != NULL,
              "the last lines, escape characters shown as '?': %s", r.out);
    cr_expect(strstr(r.out, "- the guest's console: `") && strstr(r.out, "- the screen as the run ended: `"),
              "attachments: %s", r.out);
    proc_result_free(&r);

    /* A FIFO where console.log belongs is passed over, never waited on. */
    cr_assert(unlink(console) == 0 && mkfifo(console, 0644) == 0);
    r = run_fake("feedback", b, NULL);
    cr_expect_eq(r.status, 0, "feedback with a FIFO for console.log: exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.out, "- the guest's console: `") == NULL, "a FIFO is no console to attach: %s", r.out);
    proc_result_free(&r);
    free(screen);
    free(serial);
    free(console);
    free(run);
    free(b);
}

/* A screenshot that does not come is reported, never waited for. */
Test(inspect, screenshot_failure_is_reported, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    free(vt_log_tool(t_tmp));
    setenv("MACVM_FAKE_SCREENSHOT", "fail", 1);
    setenv("MACVM_FAKE_OUTCOME", "interrupted", 1);
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    struct proc_result r = run_fake("run", "--screenshot", b, NULL);
    cr_expect_eq(r.status, 130, "exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.err, "no screenshot: the display gave no picture within 5000 ms") != NULL, "%s", r.err);
    char *run = tk_newest_run(b), *text = vt_run_json(run);
    vt_json_str(vt_json(text), "outcome.screenshot_failure", "the display gave no picture within 5000 ms", text);
    cr_expect(!tk_file_exists(run, "screen.png"), "no screen.png without a picture");
    free(text);
    free(run);
    proc_result_free(&r);
    free(b);
}

/* Where the panic action goes, by the host's macOS. */
Test(inspect, panic_path_follows_the_host, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    static const struct {
        const char *os, *via;
        bool device;
    } hosts[] = {{"12.6", "start-options-12", false}, {"13.6", "start-options", false},
                 {"15.6", "start-options", true}, {"26.0", "configuration", true}};
    for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
        setenv("MACVM_FAKE_OS", hosts[i].os, 1);
        struct proc_result r = run_fake("run", "--dry-run", "--json", "--panic", "halt", b, NULL);
        const struct plist *j = vt_expect_json_ok(&r, hosts[i].os);
        vt_json_str(j, "panic_action.via", hosts[i].via, r.out);
        vt_json_bool(j, "panic_action.panic_device", hosts[i].device, r.out);
        vt_json_uint(j, "panic_action.value", 1, r.out);
        proc_result_free(&r);
    }
    setenv("MACVM_FAKE_OS", "12.6", 1);
    struct proc_result r = run_fake("run", "--dry-run", "--json", "--share", "tests/fixtures", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "a share on 12");
    vt_json_str(j, "shares.0.tag", "macvm", r.out);
    vt_json_null(j, "shares.0.guest_path", r.out);
    proc_result_free(&r);
    unsetenv("MACVM_FAKE_OS");
    r = run_fake("run", "--dry-run", "--panic", "sometimes", b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "--panic 'sometimes' is not halt or restart", "bad --panic");
    proc_result_free(&r);
    free(b);
}

Test(inspect, shares_that_cannot_be, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *missing = t_path_join(t_tmp, "nowhere");
    struct proc_result r = run_fake("run", "--dry-run", "--share", missing, b, NULL);
    vt_expect_refusal(&r, EX_NOINPUT, missing, "a missing folder");
    cr_expect(strstr(r.err, "; name a folder that exists") != NULL, "say what to do: %s", r.err);
    proc_result_free(&r);
    r = run_fake("run", "--dry-run", "--share", "", b, NULL);   /* not the current folder */
    vt_expect_refusal(&r, EX_USAGE, "--share: the folder's path is empty", "an empty path");
    proc_result_free(&r);
    char *file = t_path_join(b, "Config.plist");
    r = run_fake("run", "--dry-run", "--share", file, b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "not a folder", "a file");
    proc_result_free(&r);
    char *one = t_path_join(t_tmp, "a"), *two = t_path_join(t_tmp, "b");
    vt_mkdir(one);
    vt_mkdir(two);
    char *same1 = t_path_join(one, "x"), *same2 = t_path_join(two, "x");
    vt_mkdir(same1);
    vt_mkdir(same2);
    r = run_fake("run", "--dry-run", "--share", same1, "--share", same2, b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "two shared folders named x", "two of one name");
    proc_result_free(&r);
    /* One folder twice (here once through a link) is not two folders to put in one. */
    char *link = t_path_join(t_tmp, "link"), *link_ro = t_path_join(t_tmp, "link:ro");
    cr_assert_eq(symlink(same1, link), 0, "tests: symlink %s: %s", link, strerror(errno));
    r = run_fake("run", "--dry-run", "--share", same1, "--share", link_ro, b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "are the same folder", "one folder twice");
    cr_expect(strstr(r.err, "give it once") != NULL && strstr(r.err, "holds both") == NULL, "the advice: %s", r.err);
    proc_result_free(&r);
    free(link);
    free(link_ro);
    /* A folder whose own name ends in :ro, given as it is: the error says how to share it. */
    char *colon = t_path_join(t_tmp, "notes:ro"), *colon_rw = t_path_join(t_tmp, "notes:ro:rw");
    vt_mkdir(colon);
    r = run_fake("run", "--dry-run", "--share", colon, b, NULL);
    vt_expect_refusal(&r, EX_NOINPUT, colon_rw, "a folder named notes:ro");
    proc_result_free(&r);
    r = run_fake("run", "--dry-run", "--share", colon_rw, b, NULL);
    cr_expect_eq(r.status, 0, "notes:ro:rw shared: exit %d; %s", r.status, r.err);
    proc_result_free(&r);
    free(colon);
    free(colon_rw);
    r = run_fake("run", "--dry-run", "--share", one, "--share", two, "--share", same1, "--share", b, "--share", t_tmp,
                 b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "more than 4 --share", "five shares");
    proc_result_free(&r);
    char *odd = t_path_join(t_tmp, "bell\a");
    vt_mkdir(odd);
    r = run_fake("run", "--dry-run", "--share", odd, b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "control characters", "a control character in the name");
    proc_result_free(&r);
    char *latin1 = t_path_join(t_tmp, "caf\xe9");   /* a name from another encoding */
    vt_mkdir(latin1);
    r = run_fake("run", "--dry-run", "--share", latin1, b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "not UTF-8", "a path that is not UTF-8");
    proc_result_free(&r);
    free(latin1);
    /* The guest must not write the VM's own files: the bundle, a folder holding it, one inside it. */
    char *logs = t_path_join(b, "logs");
    vt_mkdir(logs);
    const char *overlapping[] = {b, t_tmp, logs};
    for (size_t i = 0; i < 3; i++) {
        r = run_fake("run", "--dry-run", "--ephemeral", "--share", overlapping[i], b, NULL);
        vt_expect_refusal(&r, EX_USAGE, "overlaps the VM's bundle", overlapping[i]);
        proc_result_free(&r);
    }
    char ro[4096];
    snprintf(ro, sizeof ro, "%s:ro", b);
    r = run_fake("run", "--dry-run", "--share", ro, b, NULL);
    cr_expect_eq(r.status, 0, "the bundle shared read-only: exit %d; %s", r.status, r.err);
    proc_result_free(&r);
    free(logs);
    free(odd);
    free(same1);
    free(same2);
    free(one);
    free(two);
    free(file);
    free(missing);
    free(b);
}

Test(inspect, refusals_before_the_bridge, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *spec = ti_spec();
    struct proc_result r = run_fake("run", "--serial", b, NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, "com.apple.private.virtualization", "--serial without the entitlement");
    cr_expect(!vt_exists(spec), "the bridge was called");
    proc_result_free(&r);
    setenv("MACVM_FAKE_OS", "13.6", 1);
    r = run_fake("run", "--dry-run", "--screenshot", b, NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, "--screenshot needs macOS 14", "--screenshot on 13");
    proc_result_free(&r);
    /* A console or a shared folder keeps 14.x before 15.5 from saving. */
    setenv("MACVM_FAKE_OS", "14.5", 1);
    r = run_fake("run", "--dry-run", "--save-on-stop", "--console", b, NULL);
    vt_expect_refusal(&r, EX_CONFIG, "Unsupported console device", "--save-on-stop with a console on 14.5");
    proc_result_free(&r);
    r = run_fake("run", "--dry-run", "--json", "--share", "tests/fixtures", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "a share on 14.5");
    vt_json_bool(j, "save_on_quit", false, r.out);
    vt_json_bool(j, "save.possible", false, r.out);
    cr_expect(strstr(vt_s(j, "save.why_not"), "a shared folder (--share)") != NULL, "why not: %s", r.out);
    proc_result_free(&r);
    /* A saved state is kept, not lost to a restore that cannot work. */
    char *save = t_path_join(b, "SaveFile.vzvmsave");
    vt_write_text(save, "state");
    r = run_fake("run", "--dry-run", "--console", b, NULL);
    vt_expect_refusal(&r, EX_CONFIG, "kept", "a saved state and a console on 14.5");
    cr_expect(vt_exists(save), "the saved state must stay");
    proc_result_free(&r);
    unlink(save);
    free(save);
    setenv("MACVM_FAKE_OS", "15.5", 1);
    r = run_fake("run", "--dry-run", "--json", "--console", b, NULL);
    vt_json_bool(vt_expect_json_ok(&r, "a console on 15.5"), "save.possible", true, r.out);
    proc_result_free(&r);
    free(spec);
    free(b);
}

Test(inspect, install_serial_number, .init = vt_init, .fini = t_tmp_fini)
{
    char *spec = ti_spec();
    char *n = t_path_join(t_tmp, "New.bundle");
    static const char *const bad[] = {"C02XL0ABH", "C02XL0ABHTX", "c02xl0abht", "C02XL0AB-T", "C02XL0AB\nT", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct proc_result r = run_fake("install", "--ipsw", "tests/fixtures/ipsw/macOS-14.5-vm.ipsw",
                                        "--serial-number", bad[i], n, NULL);
        cr_expect_eq(r.status, EX_USAGE, "'%s': exit %d; %s", bad[i], r.status, r.err);
        cr_expect(!vt_exists(n), "'%s': the bundle was created", bad[i]);
        proc_result_free(&r);
    }
    struct proc_result r = run_fake("install", "--ipsw", "tests/fixtures/ipsw/macOS-14.5-vm.ipsw", "--serial-number",
                                    "C02XL0ABHT", n, NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, "com.apple.private.virtualization", "without the private entitlement");
    cr_expect(!vt_exists(n) && !vt_exists(spec), "nothing may be created");
    proc_result_free(&r);
    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    setenv("MACVM_FAKE_OS", "12.6", 1);
    r = run_fake("install", "--ipsw", "tests/fixtures/ipsw/macOS-14.5-vm.ipsw", "--serial-number", "C02XL0ABHT", n,
                 NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, "macOS 13", "on 12.6");
    proc_result_free(&r);
    setenv("MACVM_FAKE_OS", "14.5", 1);
    r = run_fake("install", "--ipsw", "tests/fixtures/ipsw/macOS-14.5-vm.ipsw", "--cpus", "2", "--serial-number",
                 "C02XL0ABHT", n, NULL);
    cr_expect_eq(r.status, 0, "exit %d; %s", r.status, r.err);
    struct vt_spec s;
    cr_assert(vt_spec_load(&s, spec));
    cr_expect_str_eq(vt_spec_get(&s, "serial_number"), "C02XL0ABHT");
    vt_spec_free(&s);
    proc_result_free(&r);
    free(n);
    free(spec);
}

Test(inspect, clone_with_a_new_identity, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *plain = t_path_join(t_tmp, "Plain.bundle"), *own = t_path_join(t_tmp, "Own.bundle");
    struct proc_result r = run_fake("clone", b, plain, NULL);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "it has its original's identity") && strstr(r.out, "--new-identity"), "%s", r.out);
    proc_result_free(&r);
    /* info names the bundle beside it with the same ECID, both ways. */
    r = run_fake("info", b, NULL);
    cr_expect(strstr(r.out, "the same ECID as ") && strstr(r.out, plain), "info: %s", r.out);
    proc_result_free(&r);
    r = run_fake("info", "--json", plain, NULL);
    vt_json_str(vt_expect_json_ok(&r, "info --json"), "machine_identifier.same_ecid.0", b, r.out);
    proc_result_free(&r);

    /* Config.plist gets a new MACAddress; what else it holds is the user's and stays. */
    char *cfg = t_path_join(b, "Config.plist");
    size_t n;
    char *text = (char *)t_read_file(cfg, &n), *end = strstr(text, "</dict>");
    cr_assert(end, "the fixture's Config.plist: %s", text);
    char mine[4096];
    snprintf(mine, sizeof mine, "%.*s<key>MyNote</key><string>keep me</string>\n%s", (int)(end - text), text, end);
    vt_write_text(cfg, mine);
    free(text);
    char *spec = ti_spec();
    r = run_fake("clone", "--new-identity", b, own, NULL);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "own identity (ECID 0x0011223344556677)") && strstr(r.out, "sign in to iCloud again"),
              "%s", r.out);
    proc_result_free(&r);
    struct vt_spec s;
    cr_assert(vt_spec_load(&s, spec));
    cr_expect_str_eq(vt_spec_get(&s, "call"), "clone_identity");
    /* Given in the clone's temporary folder, before the clone has its name. */
    char *mi = t_path_join(t_tmp, ".Own.bundle-clone-");
    const char *got = vt_spec_get(&s, "machine_identifier");
    cr_expect(strncmp(got, mi, strlen(mi)) == 0 && strstr(got, "/Own.bundle/MachineIdentifier"),
              "the identity is given before the clone is named: %s", got);
    vt_spec_free(&s);
    r = run_fake("info", own, NULL);
    cr_expect(!strstr(r.out, "the same ECID as "), "a new identity shares nothing: %s", r.out);
    proc_result_free(&r);
    /* ... nor the MAC address, so both can run on one network. */
    char *mac[2];
    for (int i = 0; i < 2; i++) {
        r = run_fake("info", "--json", i ? own : b, NULL);
        const struct plist *m = vt_get(vt_expect_json_ok(&r, "info --json"), "config.mac_address");
        mac[i] = xstrdup(m && m->type == PLIST_STRING ? m->string : "");
        proc_result_free(&r);
    }
    cr_expect(*mac[0] && *mac[1] && strcmp(mac[0], mac[1]) != 0, "the clone's MAC %s, its original's %s", mac[1],
              mac[0]);
    free(mac[0]);
    free(mac[1]);
    char *own_cfg = t_path_join(own, "Config.plist");
    text = (char *)t_read_file(own_cfg, &n);
    cr_expect(strstr(text, "<key>MyNote</key>") && strstr(text, "keep me"), "the user's key is kept: %s", text);
    free(text);
    free(own_cfg);

    /* The bridge fails: no clone is left; a saved state, off a Mac: refused before copying. */
    char *failed = t_path_join(t_tmp, "Failed.bundle");
    setenv("MACVM_FAKE_IDENTITY", "fail", 1);
    int entries = vt_count_entries(t_tmp);
    r = run_fake("clone", "--new-identity", b, failed, NULL);
    cr_expect_eq(r.status, EX_UNAVAILABLE, "exit %d; %s", r.status, r.err);
    cr_expect(!vt_exists(failed) && strstr(r.err, "was not made") && count_lines(r.err) == 1,
              "the clone should be gone: %s", r.err);
    cr_expect_eq(vt_count_entries(t_tmp), entries, "nothing left beside the bundles: no temporary folder");
    proc_result_free(&r);
    /* A source whose Config.plist cannot be read: refused before copying, naming it. */
    vt_write_text(cfg, "<plist><dict><key>MACAddress</key><string>8b:2c:11:de:ad:01</string></dict></plist>");
    r = run_fake("clone", "--new-identity", b, failed, NULL);
    vt_expect_refusal(&r, EX_DATAERR, "Config.plist", "a source with a bad MACAddress");
    cr_expect(strstr(r.err, b) != NULL, "the message names the source: %s", r.err);
    cr_expect_eq(vt_count_entries(t_tmp), entries, "nothing copied");
    proc_result_free(&r);
    vt_write_text(cfg, mine);
    free(cfg);
    char *save = t_path_join(b, "SaveFile.vzvmsave");
    vt_write_text(save, "state");
    r = run_fake("clone", "--new-identity", b, failed, NULL);
    vt_expect_refusal(&r, EX_USAGE, "saved state", "a saved state");
    proc_result_free(&r);
    unlink(save);
    r = run_macvm("clone", "--new-identity", b, failed, NULL);
    vt_expect_refusal(&r, EX_UNAVAILABLE, "macOS 13", "off a Mac");
    cr_expect(!vt_exists(failed));
    proc_result_free(&r);
    free(save);
    free(failed);
    free(mi);
    free(spec);
    free(own);
    free(plain);
    free(b);
}

/* clone --new-identity whose stdout cannot be written (a pipe nobody reads,
 * SIGPIPE ignored: EPIPE, as /dev/full gives ENOSPC): exit 74, and the clone
 * it made has its own ECID, not its original's. */
Test(inspect, clone_with_a_new_identity_and_an_unwritable_report, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *own = t_path_join(t_tmp, "Own.bundle"), *err = t_path_join(t_tmp, "err.txt");
    int p[2];
    cr_assert_eq(pipe(p), 0);
    close(p[0]);   /* before the fork: no process ever reads it */
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(p[1], 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execl(vt_fake(), vt_fake(), "clone", "--new-identity", b, own, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    int status = vt_wait(pid, NULL);
    size_t len;
    char *text = (char *)t_read_file(err, &len);
    cr_expect_eq(status, EX_IOERR, "exit %d, want 74: %s", status, text);
    cr_assert(vt_exists(own), "the clone was made before the report: %s", text);
    struct proc_result r = run_fake("info", b, NULL);
    cr_expect(!strstr(r.out, "the same ECID as "), "the clone has an ECID of its own: %s", r.out);
    proc_result_free(&r);
    r = run_fake("info", own, NULL);
    cr_expect(strstr(r.out, "0x0011223344556677") != NULL, "the new ECID: %s", r.out);
    proc_result_free(&r);
    free(text);
    free(err);
    free(own);
    free(b);
}

Test(inspect, info_decodes_the_serial_number, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 4 * VT_GIB);
    char *mi = t_path_join(b, "MachineIdentifier"), *src = fixture("plist/MachineIdentifier-serial");
    vt_copy_file(src, mi);
    struct proc_result r = run_fake("info", b, NULL);
    cr_expect(strstr(r.out, "ECID 0x0a0b0c0d0e0f1011, serial number C02XL0ABHT") != NULL, "%s", r.out);
    proc_result_free(&r);
    r = run_fake("info", "--json", b, NULL);
    vt_json_str(vt_expect_json_ok(&r, "info --json"), "machine_identifier.serial_number", "C02XL0ABHT", r.out);
    proc_result_free(&r);
    free(src);
    free(mi);
    free(b);
}
