/* test_doctor.c -- `macvm doctor` (macvm.c sections 7 and 8): the host checks, each
 * "pass", "warn", "fail" or "skip" with what to do, and what a restore image
 * needs of the host.
 *
 * Contract under test:
 *   - ./macvm doctor on Linux: one line per check, each starting with its
 *     status; it says this is not macOS; exit 69 (a check failed).
 *   - --json: one valid JSON array of {check, status, detail}.
 *   - --ipsw FILE adds the image's checks: a non-VM image fails; off macOS the
 *     host-version and MobileDevice checks are skipped; a bad FILE is refused
 *     like `macvm ipsw` refuses it (66 missing, 65 damaged).
 *   - build/macvm-fake doctor (a fake macOS 14.5 host): the virtualization
 *     entitlement passes; no private entitlement is a warning (pass with it).
 *   - doctor_image() with a fake system root: MobileDevice's CFBundleVersion
 *     older than the image's MobileDeviceMinVersion fails, equal or newer
 *     passes (numerically: 1784.99 < 1784.120), missing warns on a Mac and is
 *     skipped elsewhere; a host macOS older than VirtualMachineMinHostOS
 *     fails, equal or newer passes.
 * The fake roots (System/Library/PrivateFrameworks/MobileDevice.framework/
 * Versions/A/Resources/version.plist, XML written here) live in a per-test
 * temp dir.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define TD_EX_DATAERR 65
#define TD_EX_NOINPUT 66
#define TD_EX_USAGE 64
#define TD_EX_UNAVAILABLE 69

/* ---- A kit shared by test_logs.c, test_feedback.c and test_doctor.c.  Each
 * file carries an identical copy behind this guard, so each compiles alone
 * and in any include order; keep the copies identical. ---- */

/* ---- helpers of this file ---- */

/* The status of the check named name ("pass", ...), or NULL when absent. */
static const char *td_status(const struct probe *d, const char *name)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->rows[i].name, name) == 0)
            return status_names[d->rows[i].status];
    return NULL;
}

static const char *td_detail(const struct probe *d, const char *name)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->rows[i].name, name) == 0)
            return d->rows[i].detail;
    return "";
}

#define td_expect_status(d, name, want, what)                                                                   \
    do {                                                                                                        \
        const char *got_ = td_status((d), (name));                                                              \
        cr_expect(got_ && strcmp(got_, (want)) == 0, "%s: check \"%s\" is %s, want %s (%s)", (what), (name),    \
                  got_ ? got_ : "absent", (want), td_detail((d), (name)));                                      \
    } while (0)

/* A fake system root under t_tmp with MobileDevice's version.plist saying
 * CFBundleVersion = version (its short version is "1.0", as on a real Mac);
 * version NULL: a root without MobileDevice.  Returns the root (free it). */
static char *td_root(const char *name, const char *version)
{
    char *root = tk_mkdirs(t_tmp, name);
    if (!version)
        return root;
    char *res = tk_mkdirs(root, "System/Library/PrivateFrameworks/MobileDevice.framework/Versions/A/Resources");
    char *plist = t_path_join(res, "version.plist"), *xml;
    cr_assert(asprintf(&xml,
                       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                       "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                       "<plist version=\"1.0\">\n<dict>\n"
                       "\t<key>BuildAliasOf</key>\n\t<string>MobileDevice</string>\n"
                       "\t<key>BuildVersion</key>\n\t<string>7</string>\n"
                       "\t<key>CFBundleShortVersionString</key>\n\t<string>1.0</string>\n"
                       "\t<key>CFBundleVersion</key>\n\t<string>%s</string>\n"
                       "\t<key>ProjectName</key>\n\t<string>MobileDevice</string>\n"
                       "\t<key>SourceVersion</key>\n\t<string>%s000000000000</string>\n"
                       "</dict>\n</plist>\n",
                       version, version) > 0);
    tk_write_text(plist, xml);
    free(xml);
    free(plist);
    free(res);
    return root;
}

static void td_image(const char *rel, struct ipsw_info *img)
{
    char *path = fixture(rel);
    struct error e = {0};
    cr_assert_eq(ipsw_inspect(path, img, &e), 0, "%s: %s", path, e.text);
    free(path);
}

static struct host_info td_mac(const char *os_version)
{
    struct host_info h = {.available = true, .has_virtualization_entitlement = true};
    snprintf(h.os_version, sizeof h.os_version, "%s", os_version);
    snprintf(h.os_build, sizeof h.os_build, "XYZ");
    return h;
}

static void td_expect_lines(const struct proc_result *r, const char *what)
{
    cr_expect(r->out_len > 0, "%s: no output", what);
    int lines = 0;
    for (const char *p = r->out; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        cr_expect(n > 5 && (!strncmp(p, "pass ", 5) || !strncmp(p, "warn ", 5) || !strncmp(p, "fail ", 5) ||
                            !strncmp(p, "skip ", 5)),
                  "%s: a line that does not start with its status: %.*s", what, (int)n, p);
        lines++;
        p += n + (nl != NULL);
    }
    cr_expect_geq(lines, 4, "%s: want one line per check:\n%s", what, r->out);
}

/* ============================== the command ============================== */

#ifdef __linux__
Test(doctor, linux_says_it_is_not_macos)
{
    struct proc_result r = run_macvm("doctor", NULL);
    cr_expect_eq(r.status, TD_EX_UNAVAILABLE, "exit %d; stderr: %s", r.status, r.err);
    td_expect_lines(&r, "doctor");
    cr_expect(strstr(r.out, "not macOS") != NULL, "doctor should say this is not macOS:\n%s", r.out);
    cr_expect(strstr(r.out, "fail ") != NULL, "a failing check explains the exit code:\n%s", r.out);
    proc_result_free(&r);
}

Test(doctor, json_is_an_array_of_checks, .init = t_tmp_init, .fini = t_tmp_fini)
{
    struct proc_result r = run_macvm("doctor", "--json", NULL);
    cr_expect_eq(r.status, TD_EX_UNAVAILABLE, "exit %d; stderr: %s", r.status, r.err);
    char *out = tk_save(t_tmp, "doctor.json", r.out, r.out_len);
    char *shape = tk_py(out, false,
                        "type(d).__name__ + ' ' + str(len(d) >= 4) + ' ' + str(all(sorted(c) == "
                        "['check', 'detail', 'status'] and c['status'] in ('pass', 'warn', 'fail', 'skip') and "
                        "all(isinstance(c[k], str) and c[k] for k in c) for c in d))");
    tk_expect_str(shape, "list True True", "an array of {check, status, detail}, each a non-empty string");
    char *macos = tk_py(out, false, "[c['status'] for c in d if c['check'] == 'macOS']");
    tk_expect_str(macos, "[\"fail\"]", "the macOS check fails on Linux");
    free(macos);
    free(shape);
    free(out);
    proc_result_free(&r);
}

Test(doctor, ipsw_adds_image_checks, .init = t_tmp_init, .fini = t_tmp_fini)
{
    static const char *const vm[] = {"ipsw/macOS-14.5-vm.ipsw", "ipsw/macOS-15.0-vm-stored.ipsw",
                                     "ipsw/macOS-13.0-vm-plain.ipsw"};
    for (size_t i = 0; i < 3; i++) {
        char *img = fixture(vm[i]);
        struct proc_result r = run_macvm("doctor", "--ipsw", img, "--json", NULL);
        cr_expect_eq(r.status, TD_EX_UNAVAILABLE, "%s: exit %d; stderr: %s", img, r.status, r.err);
        char *out = tk_save(t_tmp, "doctor.json", r.out, r.out_len);
        char *v = tk_py(out, false, "' '.join('%s=%s' % (c['check'], c['status']) for c in d if c['check'] in "
                                    "('image', 'host macOS for the image', 'MobileDevice'))");
        tk_expect_str(v, "host macOS for the image=skip MobileDevice=skip", img);
        free(v);
        free(out);
        proc_result_free(&r);
        free(img);
    }
    char *ios = fixture("ipsw/iOS-not-vm.ipsw");
    struct proc_result r = run_macvm("doctor", "--ipsw", ios, NULL);
    cr_expect_eq(r.status, TD_EX_UNAVAILABLE, "exit %d; stderr: %s", r.status, r.err);
    td_expect_lines(&r, "doctor --ipsw iOS");
    cr_expect(strstr(r.out, "fail  image") != NULL && strstr(r.out, "does not install in a VM") != NULL,
              "an iPhone image should fail the image check:\n%s", r.out);
    proc_result_free(&r);
    free(ios);
}
#endif

Test(doctor, bad_ipsw_is_refused, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *missing = t_path_join(t_tmp, "missing.ipsw"), *bad = fixture("hostile/not-a-zip.ipsw");
    struct proc_result r = run_macvm("doctor", "--ipsw", missing, NULL);
    cr_expect_eq(r.status, TD_EX_NOINPUT, "missing image: exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(count_lines(r.err), 1, "stderr: %s", r.err);
    cr_expect(strstr(r.err, missing) != NULL, "stderr should name the image: %s", r.err);
    cr_expect(strstr(r.err, "; name a restore image (.ipsw) file you can read") != NULL, "as ipsw says: %s", r.err);
    proc_result_free(&r);
    r = run_macvm("doctor", "--ipsw", bad, NULL);
    cr_expect_eq(r.status, TD_EX_DATAERR, "damaged image: exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(count_lines(r.err), 1, "stderr: %s", r.err);
    cr_expect(strstr(r.err, "; download the image again") != NULL, "as ipsw says: %s", r.err);
    proc_result_free(&r);
    r = run_macvm("doctor", "a.bundle", "b.bundle", NULL);
    cr_expect_eq(r.status, TD_EX_USAGE, "two bundles: exit %d; stderr: %s", r.status, r.err);
    proc_result_free(&r);
    /* An empty --ipsw names no file to open: a usage error that says so, before the host's checks. */
    r = run_macvm("doctor", "--ipsw", "", NULL);
    cr_expect_eq(r.status, TD_EX_USAGE, "empty --ipsw: exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "--ipsw path is empty") != NULL && r.out[0] == 0, "stdout: %s; stderr: %s", r.out, r.err);
    proc_result_free(&r);
    free(bad);
    free(missing);
}

Test(doctor, fake_mac_entitlements, .init = t_tmp_init, .fini = t_tmp_fini)
{
    struct proc_result r = run_fake("doctor", "--json", NULL);
    cr_assert(r.status >= 0 && r.status < 128, "crashed: %d", r.status);
    char *out = tk_save(t_tmp, "doctor.json", r.out, r.out_len);
    char *v = tk_py(out, false, "' '.join('%s=%s' % (c['check'], c['status']) for c in d if 'entitlement' in c['check'])");
    tk_expect_str(v, "virtualization entitlement=pass private entitlement=warn", "fake macOS 14.5, no private entitlement");
    char *why = tk_py(out, false, "[c['detail'] for c in d if c['check'] == 'private entitlement'][0]");
    cr_expect(strstr(why, "--debug-stub") != NULL, "the warning should say what is missing (--debug-stub): %s", why);
    free(why);
    free(v);
    free(out);
    proc_result_free(&r);

    setenv("MACVM_FAKE_PRIVATE", "1", 1);
    r = run_fake("doctor", "--json", NULL);
    out = tk_save(t_tmp, "doctor.json", r.out, r.out_len);
    v = tk_py(out, false, "' '.join('%s=%s' % (c['check'], c['status']) for c in d if 'entitlement' in c['check'])");
    tk_expect_str(v, "virtualization entitlement=pass private entitlement=pass", "with the private entitlement");
    free(v);
    free(out);
    proc_result_free(&r);
}

Test(doctor, fake_mac_image_checks, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *img = fixture("ipsw/macOS-15.0-vm-stored.ipsw");
    struct proc_result r = run_fake("doctor", "--ipsw", img, "--json", NULL);
    char *out = tk_save(t_tmp, "doctor.json", r.out, r.out_len);
    char *v = tk_py(out, false, "[c['status'] for c in d if c['check'] == 'host macOS for the image']");
    tk_expect_str(v, "[\"pass\"]", "macOS 14.5 runs a 15.0 guest (needs 14.0.0)");
    free(v);
    free(out);
    proc_result_free(&r);

    setenv("MACVM_FAKE_OS", "13.6", 1);
    r = run_fake("doctor", "--ipsw", img, "--json", NULL);
    cr_expect_eq(r.status, TD_EX_UNAVAILABLE, "exit %d", r.status);
    out = tk_save(t_tmp, "doctor.json", r.out, r.out_len);
    v = tk_py(out, false, "[c['status'] + ': ' + c['detail'] for c in d if c['check'] == 'host macOS for the image'][0]");
    cr_expect(strncmp(v, "fail: ", 6) == 0 && strstr(v, "13.6") && strstr(v, "14.0.0") && strstr(v, "update macOS"),
              "macOS 13.6 is too old for a 15.0 guest: %s", v);
    free(v);
    free(out);
    proc_result_free(&r);
    free(img);
}

/* ============================== doctor_image() ============================== */

Test(doctor_image, mobile_device_versions, .init = t_tmp_init, .fini = t_tmp_fini)
{
    struct ipsw_info img;
    td_image("ipsw/macOS-14.5-vm.ipsw", &img);   /* MobileDeviceMinVersion 1784.120.3 */
    cr_assert_str_eq(img.mobile_device_min_version, "1784.120.3");
    struct host_info mac = td_mac("14.5");
    static const struct {
        const char *version, *status;
    } cases[] = {
        {"1784.120.2", "fail"}, {"1784.99.9", "fail"}, {"1643.1.1", "fail"}, {"1784.120.3", "pass"},
        {"1784.120.10", "pass"}, {"1784.121", "pass"}, {"1813.2.1", "pass"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[32];
        snprintf(name, sizeof name, "root%zu", i);
        char *root = td_root(name, cases[i].version);
        struct probe d = {0};
        doctor_image(&d, &mac, &img, root);
        char what[128];
        snprintf(what, sizeof what, "MobileDevice %s for an image that needs 1784.120.3", cases[i].version);
        td_expect_status(&d, "MobileDevice", cases[i].status, what);
        const char *detail = td_detail(&d, "MobileDevice");
        cr_expect(strstr(detail, cases[i].version) && strstr(detail, "1784.120.3"),
                  "%s: the detail should name both versions: %s", what, detail);
        if (!strcmp(cases[i].status, "fail")) {
            cr_expect(strstr(detail, "Xcode") != NULL, "%s: the failure should say to install Xcode: %s", what, detail);
            cr_expect_eq(doctor_exit(&d), TD_EX_UNAVAILABLE, "%s: a failed check exits 69", what);
        }
        free(root);
    }
    /* None installed: a warning on a Mac, not checked elsewhere. */
    char *empty = td_root("empty", NULL);
    struct probe d = {0};
    doctor_image(&d, &mac, &img, empty);
    td_expect_status(&d, "MobileDevice", "warn", "no MobileDevice on a Mac");
    cr_expect(strstr(td_detail(&d, "MobileDevice"), "Xcode") != NULL, "say what to do: %s", td_detail(&d, "MobileDevice"));
    cr_expect_eq(doctor_exit(&d), 0, "a warning alone exits 0");
    struct host_info linux_host = {0};
    struct probe d2 = {0};
    doctor_image(&d2, &linux_host, &img, empty);
    td_expect_status(&d2, "MobileDevice", "skip", "off macOS");
    free(empty);
    ipsw_free(&img);
}

Test(doctor_image, host_macos_against_the_image)
{
    struct ipsw_info img;
    td_image("ipsw/macOS-15.0-vm-stored.ipsw", &img);   /* VirtualMachineMinHostOS 14.0.0 */
    static const struct {
        const char *os, *status;
    } cases[] = {
        {"13.6.1", "fail"}, {"13", "fail"}, {"14", "pass"}, {"14.0", "pass"}, {"14.0.0", "pass"},
        {"14.5", "pass"}, {"15.1", "pass"}, {"26.0", "pass"}, {"9.10", "fail"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct host_info mac = td_mac(cases[i].os);
        struct probe d = {0};
        doctor_image(&d, &mac, &img, "/nonexistent-root");
        char what[96];
        snprintf(what, sizeof what, "host macOS %s, image needs 14.0.0", cases[i].os);
        td_expect_status(&d, "host macOS for the image", cases[i].status, what);
        if (!strcmp(cases[i].status, "fail"))
            cr_expect(strstr(td_detail(&d, "host macOS for the image"), "update macOS") != NULL, "%s: %s", what,
                      td_detail(&d, "host macOS for the image"));
        cr_expect(td_status(&d, "image") == NULL, "%s: a VM image has no failing image check", what);
    }
    struct host_info linux_host = {0};
    struct probe d = {0};
    doctor_image(&d, &linux_host, &img, "/nonexistent-root");
    td_expect_status(&d, "host macOS for the image", "skip", "off macOS");
    ipsw_free(&img);
}

Test(doctor_image, not_a_vm_image_fails)
{
    struct ipsw_info img;
    td_image("ipsw/iOS-not-vm.ipsw", &img);
    struct host_info mac = td_mac("14.5");
    struct probe d = {0};
    doctor_image(&d, &mac, &img, "/nonexistent-root");
    td_expect_status(&d, "image", "fail", "an iPhone image");
    const char *detail = td_detail(&d, "image");
    cr_expect(strstr(detail, "17.5") && strstr(detail, "21F79") && strstr(detail, "UniversalMac"),
              "the detail should name the image and what to download instead: %s", detail);
    cr_expect_eq(doctor_exit(&d), TD_EX_UNAVAILABLE);
    ipsw_free(&img);
}

/* The iPhone image is iOS 17.5: calling it "macOS 17.5" misleads. */
Test(doctor_image, an_iphone_image_is_not_called_macos)
{
    struct ipsw_info img;
    td_image("ipsw/iOS-not-vm.ipsw", &img);
    struct host_info mac = td_mac("14.5");
    struct probe d = {0};
    doctor_image(&d, &mac, &img, "/nonexistent-root");
    const char *detail = td_detail(&d, "image");
    cr_expect(strstr(detail, "macOS 17.5") == NULL, "an iOS image is called \"macOS 17.5\": %s", detail);
    ipsw_free(&img);
}

/* ============================== doctor_run() ============================== */

Test(doctor_run, entitlements_on_a_mac, .init = t_tmp_init, .fini = t_tmp_fini)
{
    struct host_info mac = td_mac("14.5");
    mac.has_virtualization_entitlement = false;
    struct probe d = {0};
    doctor_run(&d, &mac, t_tmp);
    td_expect_status(&d, "virtualization entitlement", "fail", "unsigned macvm");
    cr_expect(strstr(td_detail(&d, "virtualization entitlement"), "codesign") != NULL,
              "say how to sign: %s", td_detail(&d, "virtualization entitlement"));
    td_expect_status(&d, "private entitlement", "warn", "no private entitlement");
    cr_expect_eq(doctor_exit(&d), TD_EX_UNAVAILABLE);
    cr_expect(td_status(&d, "free space") != NULL, "the free space of the bundle's volume is checked");
    cr_expect(strstr(td_detail(&d, "free space"), t_tmp) != NULL, "free space names the volume's folder: %s",
              td_detail(&d, "free space"));

    struct host_info off = {0};
    struct probe d2 = {0};
    doctor_run(&d2, &off, t_tmp);
    td_expect_status(&d2, "entitlements", "skip", "off macOS");
#ifdef __linux__
    td_expect_status(&d2, "macOS", "fail", "Linux");
    td_expect_status(&d2, "running VMs", "skip", "Linux");
#endif
}

/* The build-tool rows, with shell scripts standing in for xcode-select and codesign. */
static char *td_script(const char *dir, const char *name, const char *body)
{
    char *path = t_path_join(dir, name);
    cr_assert(t_write_file(path, body, strlen(body)) == 0);
    cr_assert(chmod(path, 0755) == 0);
    return path;
}

Test(doctor_run, build_tools_on_a_mac, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *tools = td_script(t_tmp, "xcode-select", "#!/bin/sh\necho /Library/Developer/CommandLineTools\n");
    char *none = td_script(t_tmp, "xcode-select-none",
                           "#!/bin/sh\necho 'xcode-select: error: unable to get active developer directory' >&2\nexit 2\n");
    char *codesign = td_script(t_tmp, "codesign", "#!/bin/sh\n");
    char *missing = t_path_join(t_tmp, "no-codesign");

    struct probe d = {0};
    doctor_build_tools(&d, tools, codesign);
    td_expect_status(&d, "Command Line Tools", "pass", "xcode-select -p answers");
    cr_expect_str_eq(td_detail(&d, "Command Line Tools"), "/Library/Developer/CommandLineTools");
    td_expect_status(&d, "codesign", "pass", "codesign present");

    struct probe d2 = {0};
    doctor_build_tools(&d2, none, missing);
    td_expect_status(&d2, "Command Line Tools", "warn", "xcode-select -p fails");
    cr_expect(strstr(td_detail(&d2, "Command Line Tools"), "xcode-select --install") != NULL,
              "say the fix: %s", td_detail(&d2, "Command Line Tools"));
    td_expect_status(&d2, "codesign", "warn", "no codesign");
    cr_expect(strstr(td_detail(&d2, "codesign"), "xcode-select --install") != NULL,
              "say the fix: %s", td_detail(&d2, "codesign"));
    free(tools), free(none), free(codesign), free(missing);
}

Test(doctor_run, build_tools_are_the_first_rows, .init = t_tmp_init, .fini = t_tmp_fini)
{
    struct host_info off = {0};
    struct probe d = {0};
    doctor_run(&d, &off, t_tmp);
    cr_assert(d.n >= 3);
    cr_expect_str_eq(d.rows[0].name, "Apple Silicon");
    cr_expect_str_eq(d.rows[1].name, "macOS");
#ifdef __linux__
    cr_expect_str_eq(d.rows[2].name, "build tools");
    td_expect_status(&d, "build tools", "skip", "Linux");
#endif
}
