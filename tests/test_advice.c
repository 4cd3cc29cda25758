/* test_advice.c -- unit tests of advise(domain, code, message): the table that
 * turns Virtualization's terse errors into what to do (macvm.c section 8,
 * REFERENCE.md section 5).
 *
 * Contract under test: each row of REFERENCE.md section 5 gets advice that
 * names the remedy a user needs (codesign/make, "already running", the
 * two-VM licence limit, Xcode/MobileDevice, gs.apple.com, 'macvm ipsw' and
 * a new download, a host software update, the saved state, a GUI session and
 * the login keychain, the crash report's path); message patterns ignore case
 * and win over the general row of their code; code rows belong to
 * VZErrorDomain; an error macvm knows nothing about gets NULL (the caller
 * then shows the error alone).  The messages are Virtualization's own
 * wording, as users report them.
 */
#include <string.h>

/* The advice for an error, which must exist; fails the test when NULL. */
static const char *ta_advice(const char *domain, long code, const char *message)
{
    const char *a = advise(domain, code, message);
    cr_assert_not_null(a, "no advice for %s code %ld \"%s\"", domain, code, message);
    return a;
}

#define ta_expect_says(advice, what, domain, code, message)                                                    \
    cr_expect(strcasestr((advice), (what)) != NULL, "advice for %s code %ld \"%s\" should mention \"%s\"; got: %s", \
              (domain), (long)(code), (message), (what), (advice))

Test(advice, missing_entitlement_says_how_to_sign)
{
    const char *m = "Invalid virtual machine configuration. The process doesn\xE2\x80\x99t have the "
                    "\xE2\x80\x9C" "com.apple.security.virtualization\xE2\x80\x9D entitlement.";
    const char *a = ta_advice("VZErrorDomain", 2, m);
    ta_expect_says(a, "codesign", "VZErrorDomain", 2, m);
    ta_expect_says(a, "make", "VZErrorDomain", 2, m);
    ta_expect_says(a, "macvm.entitlements", "VZErrorDomain", 2, m);
    /* The same message reached through another domain (the bridge's loader) still explains it. */
    const char *b = ta_advice("NSCocoaErrorDomain", 4097, m);
    ta_expect_says(b, "codesign", "NSCocoaErrorDomain", 4097, m);
}

Test(advice, locked_auxiliary_storage_means_already_running)
{
    const char *m = "Failed to lock auxiliary storage.";
    const char *a = ta_advice("VZErrorDomain", 2, m);
    ta_expect_says(a, "already", "VZErrorDomain", 2, m);
    ta_expect_says(a, "stop it", "VZErrorDomain", 2, m);
    /* Case does not matter, and the underlying POSIX error may be what is reported. */
    const char *u = "FAILED TO LOCK AUXILIARY STORAGE (Resource temporarily unavailable)";
    const char *b = ta_advice("NSPOSIXErrorDomain", 35, u);
    ta_expect_says(b, "already", "NSPOSIXErrorDomain", 35, u);
}

Test(advice, two_vm_limit_by_code_and_by_message)
{
    const char *m = "The maximum supported number of active virtual machines has been reached.";
    const char *a = ta_advice("VZErrorDomain", 6, m);
    ta_expect_says(a, "two", "VZErrorDomain", 6, m);
    ta_expect_says(a, "stop one", "VZErrorDomain", 6, m);
    /* Code 6 with a different wording, and the wording under another code. */
    const char *b = ta_advice("VZErrorDomain", 6, "");
    ta_expect_says(b, "two", "VZErrorDomain", 6, "");
    const char *c = ta_advice("VZErrorDomain", 1, m);
    ta_expect_says(c, "two", "VZErrorDomain", 1, m);
}

Test(advice, install_failed_in_amrestore_means_device_support)
{
    const char *m = "Installation failed. AMRestorePerformRestoreModeRestoreWithError failed with error 11";
    const char *a = ta_advice("VZErrorDomain", 10007, m);
    ta_expect_says(a, "Xcode", "VZErrorDomain", 10007, m);
    ta_expect_says(a, "MobileDevice", "VZErrorDomain", 10007, m);
    const char *m10 = "installation failed: amrestoreperformrestoremoderestorewitherror failed with error 10";
    const char *b = ta_advice("VZErrorDomain", 10007, m10);
    ta_expect_says(b, "MobileDevice", "VZErrorDomain", 10007, m10);
    cr_expect(strstr(a, "gs.apple.com") == NULL,
              "the AMRestore case is device support, not the network; got the general advice: %s", a);
}

Test(advice, install_failed_plain_points_at_the_network)
{
    const char *m = "Installation failed.";
    const char *a = ta_advice("VZErrorDomain", 10007, m);
    ta_expect_says(a, "gs.apple.com", "VZErrorDomain", 10007, m);
    ta_expect_says(a, "proxies", "VZErrorDomain", 10007, m);
    ta_expect_says(a, "macvm doctor --ipsw", "VZErrorDomain", 10007, m);
}

Test(advice, restore_image_load_and_invalid)
{
    const char *m4 = "The restore image failed to load.";
    const char *a = ta_advice("VZErrorDomain", 10004, m4);
    ta_expect_says(a, "macvm ipsw", "VZErrorDomain", 10004, m4);
    ta_expect_says(a, "download it again", "VZErrorDomain", 10004, m4);
    const char *m5 = "The restore image is invalid.";
    const char *b = ta_advice("VZErrorDomain", 10005, m5);
    ta_expect_says(b, "macvm ipsw", "VZErrorDomain", 10005, m5);
    ta_expect_says(b, "download it again", "VZErrorDomain", 10005, m5);
}

Test(advice, install_needs_host_update)
{
    const char *m = "Installation requires a software update.";
    const char *a = ta_advice("VZErrorDomain", 10006, m);
    ta_expect_says(a, "Software Update", "VZErrorDomain", 10006, m);
    ta_expect_says(a, "Xcode", "VZErrorDomain", 10006, m);
}

Test(advice, restore_failure_means_saved_state)
{
    const char *m = "The virtual machine failed to restore.";
    const char *a = ta_advice("VZErrorDomain", 12, m);
    ta_expect_says(a, "saved state", "VZErrorDomain", 12, m);
    ta_expect_says(a, "SaveFile.vzvmsave", "VZErrorDomain", 12, m);
}

Test(advice, host_key_means_gui_session_and_keychain)
{
    const char *m = "Failed to get current host key.";
    const char *a = ta_advice("VZErrorDomain", -9, m);
    ta_expect_says(a, "GUI session", "VZErrorDomain", -9, m);
    ta_expect_says(a, "keychain", "VZErrorDomain", -9, m);
}

Test(advice, internal_error_points_at_the_crash_report_and_the_probe)
{
    const char *m = "Internal Virtualization error. The virtual machine failed to start.";
    const char *a = ta_advice("VZErrorDomain", 1, m);
    ta_expect_says(a, "Library/Logs/DiagnosticReports/com.apple.Virtualization.VirtualMachine-", "VZErrorDomain", 1, m);
    ta_expect_says(a, ".ips", "VZErrorDomain", 1, m);
    ta_expect_says(a, "macvm feedback", "VZErrorDomain", 1, m);
    /* and it names the restricted features and the probe that says which this Mac has */
    ta_expect_says(a, "com.apple.private.virtualization", "VZErrorDomain", 1, m);
    ta_expect_says(a, "iBoot", "VZErrorDomain", 1, m);
    ta_expect_says(a, "doctor --probe", "VZErrorDomain", 1, m);
}

Test(advice, unsupported_device_when_saving_names_the_devices)
{
    const char *m = "Unsupported keyboard device in configuration.";
    const char *a = ta_advice("VZErrorDomain", 2, m);
    ta_expect_says(a, "USB keyboard", "VZErrorDomain", 2, m);
    ta_expect_says(a, "--dry-run", "VZErrorDomain", 2, m);
}

Test(advice, restricted_device_names_the_private_entitlement)
{
    const char *m = "Unable to create a virtual machine with restricted devices.";
    const char *a = ta_advice("VZErrorDomain", 1, m);
    ta_expect_says(a, "com.apple.private.virtualization", "VZErrorDomain", 1, m);
}

Test(advice, unsupported_hardware_model_means_old_host)
{
    const char *m = "The virtual machine configuration is invalid. Unsupported \"hardwareModel\".";
    const char *a = ta_advice("VZErrorDomain", 2, m);
    ta_expect_says(a, "update the host", "VZErrorDomain", 2, m);
}

Test(advice, bad_disk_image)
{
    const char *m = "The storage device attachment is invalid.";
    const char *a = ta_advice("VZErrorDomain", 5, m);
    ta_expect_says(a, "Disk.img", "VZErrorDomain", 5, m);
}

Test(advice, unknown_errors_get_none)
{
    struct {
        const char *domain;
        long code;
        const char *message;
    } unknown[] = {
        {"VZErrorDomain", 9999, "Something new went wrong."},
        {"VZErrorDomain", 3, "The operation is not supported."},
        {"NSPOSIXErrorDomain", 2, "No such file or directory"},
        {"macvm", 0, "_VZGDBDebugStubConfiguration is not available on macOS 14.5"},
        /* Code rows belong to VZErrorDomain: the same numbers elsewhere mean something else. */
        {"NSCocoaErrorDomain", 6, "The file couldn't be opened."},
        {"NSMachErrorDomain", 12, "unknown"},   /* (any NSURLErrorDomain error is a network error) */
        {"NSOSStatusErrorDomain", 10007, "unknown"},
        {"NSCocoaErrorDomain", 1, "unknown"},
        {"VZErrorDomain", 0, ""},
    };
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        const char *a = advise(unknown[i].domain, unknown[i].code, unknown[i].message);
        cr_expect_null(a, "%s code %ld \"%s\" should get no advice, got: %s", unknown[i].domain, unknown[i].code,
                       unknown[i].message, a ? a : "");
    }
}

/* What people hit installing betas and fetching the latest image. */
Test(advice, catalog_errors_of_latest)
{
    const char *a = ta_advice("VZErrorDomain", 10001, "The restore image catalog failed to load.");
    ta_expect_says(a, "mesu.apple.com", "VZErrorDomain", 10001, "");
    ta_expect_says(a, "--ipsw FILE", "VZErrorDomain", 10001, "");
    a = ta_advice("VZErrorDomain", 10002, "The restore image catalog is invalid.");
    ta_expect_says(a, "proxy", "VZErrorDomain", 10002, "");
    a = ta_advice("VZErrorDomain", 10003, "The restore image catalog has no supported restore images.");
    ta_expect_says(a, "Apple Developer", "VZErrorDomain", 10003, "");
}

Test(advice, install_failures_the_installer_names)
{
    const char *m = "Restore failed: Error Domain=TSSErrorDomain Code=94 \"This device isn't eligible for the "
                    "requested build.\"";
    const char *a = ta_advice("TSSErrorDomain", 94, m);
    ta_expect_says(a, "no longer signs", "TSSErrorDomain", 94, m);
    a = ta_advice("NSURLErrorDomain", -1009, "The Internet connection appears to be offline.");
    ta_expect_says(a, "gs.apple.com", "NSURLErrorDomain", -1009, "");
    a = ta_advice("NSPOSIXErrorDomain", 28, "No space left on device");
    ta_expect_says(a, "disk is full", "NSPOSIXErrorDomain", 28, "");
    a = ta_advice("VZErrorDomain", 8, "Out of disk space");
    ta_expect_says(a, "disk is full", "VZErrorDomain", 8, "");
    /* Without the installer's cause, Virtualization's 10007 keeps its own advice. */
    struct bridge_error vz = {"VZErrorDomain", 10007, "Installation failed."}, none = {0};
    cr_expect(strstr(install_advice(&vz, &none), "gs.apple.com") != NULL);
    struct bridge_error unknown = {"SomeDomain", 3, "Error Domain=SomeDomain Code=3"};
    cr_expect(strstr(install_advice(&vz, &unknown), "gs.apple.com") != NULL,
              "an installer error macvm knows nothing about falls back to the VZ error's advice");
}

/* The first error the installer names, innermost of its chain; never another process's. */
Test(advice, installer_error_is_read_from_its_log, .init = t_tmp_init, .fini = t_tmp_fini)
{
    struct bridge_error e;
    char *log = fixture("logs/install-failed.ndjson");
    cr_assert(installer_error_in(log, &e));
    cr_expect_str_eq(e.domain, "TSSErrorDomain");
    cr_expect_eq(e.code, 94);
    free(log);
    log = fixture("logs/vz-stream.ndjson");
    cr_expect(!installer_error_in(log, &e), "a run's log names no installer error: %s", e.domain);
    free(log);
    struct bridge_error p = {0};
    cr_expect(parse_named_error("x Error Domain=NSURLErrorDomain Code=-1009 \"offline\"", &p) && p.code == -1009 &&
              strcmp(p.domain, "NSURLErrorDomain") == 0);
    cr_expect(!parse_named_error("Error Domain= Code=1", &p) && !parse_named_error("Error Domain=X Code=", &p) &&
              !parse_named_error("Error Domain=X", &p));
}
