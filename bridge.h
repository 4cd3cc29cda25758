/* bridge.h -- the contract between macvm.c (portable C) and bridge.m (Apple API).
 *
 * macvm.c decides everything: which files, how many CPUs and how much memory,
 * which start mode, which keyboards and pointing devices, whether the run
 * saves and restores its state, where the panic action goes, whether a debug
 * stub may be attached, and what each Quit, Ctrl-C or menu item does
 * (macvm_stop_action).  It writes those decisions into one struct vm_spec and
 * hands it to the bridge, which turns it into Virtualization.framework calls
 * and reports back facts and outcomes.  The bridge never re-decides a value it
 * was given; what only a Mac can tell (a class or method present, a
 * validation error) it reports, and macvm.c records.
 *
 * A few things are fixed in the bridge, as in Apple's sample, and not options:
 * one display, NAT networking, sound to the host's output only (an input would
 * ask for the microphone); the window captures system keys, and on macOS 14+
 * the guest's display follows the window's size; after trying to restore
 * save_file the bridge removes it, restored or not, since once the VM runs the
 * disk no longer matches it.  A saved state that cannot be restored into this
 * configuration never gets that far: macvm.c refuses the run from what it
 * knows, and bridge_run from what Virtualization says (restore_refused).
 *
 * Off macOS, macvm.c supplies bridge functions that answer BRIDGE_UNAVAILABLE,
 * and the tests link a fake bridge (tests/fake_bridge.c) that records what it
 * was handed.
 */
#ifndef MACVM_BRIDGE_H
#define MACVM_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VM_PATH_MAX 1024

/* Bridge return codes. */
enum bridge_status {
    BRIDGE_OK = 0,
    BRIDGE_FAILED,        /* Virtualization reported an error: see bridge_error */
    BRIDGE_UNAVAILABLE,   /* no Virtualization.framework, or an API this macOS lacks */
    BRIDGE_INTERRUPTED,   /* the user pressed Ctrl-C */
};

/* An error as Virtualization (or Foundation) reported it. */
struct bridge_error {
    char domain[128];        /* e.g. "VZErrorDomain" */
    long code;
    char message[1024];      /* localizedDescription, plus the underlying error's */
};

enum vm_start_mode {
    START_NORMAL,
    START_RECOVERY,
    START_DFU,
    START_IBOOT_STAGE1,
    START_IBOOT_STAGE2,
};

/* How the host caches and writes Disk.img (VZDiskImageCachingMode and
 * VZDiskImageSynchronizationMode, macOS 12+); the first of each is Apple's default. */
enum disk_caching { DISK_CACHING_AUTOMATIC, DISK_CACHING_CACHED, DISK_CACHING_UNCACHED };
enum disk_sync { DISK_SYNC_FULL, DISK_SYNC_FSYNC, DISK_SYNC_NONE };

/* What the guest does when its kernel panics (--panic). */
enum vm_panic_action {
    PANIC_DEFAULT,        /* not set: Virtualization's default, the guest restarts */
    PANIC_HALT,           /* the VM stops where it panicked (with --debug-stub, lldb can attach) */
    PANIC_RESTART,        /* set explicitly to restart */
};

/* Where this host's Virtualization takes the panic action (private, moved
 * between releases; macvm.c decides from the host's macOS version). */
enum vm_panic_path {
    PANIC_VIA_NONE,
    PANIC_VIA_START_OPTIONS_12,   /* 12.x: panicAction of _VZVirtualMachineStartOptions */
    PANIC_VIA_START_OPTIONS,      /* 13-15: -[VZVirtualMachineStartOptions _setPanicAction:] */
    PANIC_VIA_CONFIGURATION,      /* 26+: -[VZVirtualMachineConfiguration _setPanicAction:] */
};

#define VM_SHARES_MAX 4

/* A host folder shared with the guest over virtio-fs (--share). */
struct vm_share {
    char path[VM_PATH_MAX];               /* the host folder, resolved */
    char name[256];                       /* its name in the guest: /Volumes/My Shared Files/NAME */
    bool read_only;
};

/* The one description of a VM run.  Filled and validated by macvm.c
 * (resolve_vm_spec), printed by `macvm run --dry-run`, consumed by bridge_run. */
struct vm_spec {
    char bundle[VM_PATH_MAX];             /* the bundle that runs (a clone when ephemeral) */
    char source_bundle[VM_PATH_MAX];      /* the bundle the user named */
    char disk_image[VM_PATH_MAX];         /* Disk.img */
    char auxiliary_storage[VM_PATH_MAX];  /* AuxiliaryStorage */
    char hardware_model[VM_PATH_MAX];     /* HardwareModel (binary plist, opaque to Apple) */
    char machine_identifier[VM_PATH_MAX]; /* MachineIdentifier */
    char save_file[VM_PATH_MAX];          /* SaveFile.vzvmsave */
    enum disk_caching disk_caching;
    enum disk_sync disk_sync;
    unsigned cpu_count;
    uint64_t memory_bytes;
    unsigned display_width, display_height, display_ppi;
    char mac_address[18];                 /* "xx:xx:xx:xx:xx:xx"; "" = Virtualization picks one */
    enum vm_start_mode start_mode;
    bool debug_stub;
    unsigned debug_stub_port;             /* 0: the system chooses */
    bool debug_stub_all_interfaces;       /* false: 127.0.0.1 only */
    bool set_boot_args;                   /* write boot_args to NVRAM before starting */
    char boot_args[1024];                 /* "" with set_boot_args clears the variable */
    bool headless;
    /* Input devices, from the host's and the guest's macOS (decide_input_devices). */
    bool mac_keyboard, usb_keyboard;      /* VZMacKeyboardConfiguration (macOS 14+), VZUSBKeyboardConfiguration */
    bool mac_trackpad, usb_pointer;       /* VZMacTrackpadConfiguration (13+), USB screen-coordinate pointer */
    bool audio;                           /* virtio sound to the host's output (allowed with saving) */
    bool restore_saved_state;             /* save_file exists and the host can restore */
    bool save_possible;                   /* this run saves its state on Quit, or Ctrl-C with save_on_stop */
    char save_why_not[512];               /* when not, why, in words the user can act on */
    bool save_on_stop;                    /* the first Ctrl-C (and Quit) saves the state and stops */
    bool save_on_quit;                    /* the window's Quit saves the state (macOS 14+, as Apple's sample) */
    bool ephemeral;
    bool capture_log;
    uint64_t ecid;                        /* from MachineIdentifier, shown in DFU */
    char title[256];                      /* window title */
    /* Seeing inside the guest.  The files are in the run's folder; macvm.c
     * creates them empty before bridge_run, and the bridge appends. */
    bool console;                         /* a virtio console (the guest's /dev/cu.virtio) ... */
    char console_log[VM_PATH_MAX];        /* ... whose output goes here */
    bool serial;                          /* the PL011 UART (private, restricted) ... */
    char serial_log[VM_PATH_MAX];         /* ... whose output goes here */
    enum vm_panic_action panic_action;
    long long panic_action_value;         /* the private enum value to set (see macvm.c: panic_value) */
    enum vm_panic_path panic_path;
    bool panic_device;                    /* also a _VZPvPanicDeviceConfiguration (14+) */
    struct vm_share shares[VM_SHARES_MAX];
    unsigned n_shares;                    /* all in one virtio-fs device, as a multiple-directory share */
    char share_tag[72];                   /* its tag: macOS's automount tag on 13+ */
    bool screenshot;                      /* save the display before an error or a Ctrl-C ends the run ... */
    char screenshot_path[VM_PATH_MAX];    /* ... here (PNG) */
    unsigned screenshot_timeout_ms;       /* give up on a screenshot that does not come (a bug of 15.4+) */
};

/* What the bridge tells about the host.  Off macOS `available` is false and
 * only the portable facts are filled. */
struct host_info {
    bool available;                       /* Virtualization usable here */
    char os_version[32];                  /* "14.5" */
    char os_build[32];                    /* "23F79" */
    char model[64];                       /* "Mac14,2" */
    char chip[128];                       /* "Apple M2" */
    bool has_virtualization_entitlement;
    bool has_private_entitlement;         /* com.apple.private.virtualization */
    unsigned min_cpu_count, max_cpu_count;          /* VZVirtualMachineConfiguration limits */
    uint64_t min_memory_bytes, max_memory_bytes;
    bool can_save_restore;                /* macOS 14+ */
};

/* Called as work advances; total is 0 when unknown.  Returns nothing. */
typedef void (*bridge_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* A restore image as Virtualization sees it. */
struct restore_image_info {
    bool supported_on_host;               /* mostFeaturefulSupportedConfiguration != nil */
    unsigned min_cpu_count;               /* of that configuration */
    uint64_t min_memory_bytes;
    char build[32];
    char os_version[32];
};

/* Everything install needs: the files to create and the image to use.
 * The bundle directory and Disk.img already exist (macvm.c made them). */
struct install_spec {
    char restore_image[VM_PATH_MAX];      /* the .ipsw */
    char serial_number[16];               /* "" or 10 characters macvm.c checked: a custom serial (private, 13+) */
    struct vm_spec vm;                    /* start_mode NORMAL, no debug stub, ever */
};

/* Fills *info.  Returns BRIDGE_OK, or BRIDGE_UNAVAILABLE off macOS. */
int bridge_host_info(struct host_info *info);

/* Returns whether this macOS has the class called class_name (Virtualization's
 * or AppKit's) and, when selector is not NULL, whether its instances answer
 * selector ("+selector": whether the class itself answers it).  Only
 * "present?": macvm.c's probe table says what it means. */
bool bridge_has(const char *class_name, const char *selector);

/* Builds the configuration of the installed VM *spec describes, as bridge_run
 * would, without starting anything, and asks Virtualization about it.
 * Returns BRIDGE_OK when validateWithError: accepts it, with *save_supported
 * saying whether validateSaveRestoreSupportWithError: does too (false before
 * macOS 14, with the reason in *save_err); else BRIDGE_FAILED or
 * BRIDGE_UNAVAILABLE with *err. */
int bridge_check_configuration(const struct vm_spec *spec, bool *save_supported, struct bridge_error *err,
                               struct bridge_error *save_err);

/* Asks Virtualization for the latest supported restore image's URL.
 * Returns BRIDGE_OK with url filled, or an error in *err. */
int bridge_latest_image_url(char *url, size_t url_size, struct bridge_error *err);

/* Returns whether a download whose response had status (an HTTP status code;
 * 0 for a response that is not HTTP) brought the file rather than an error
 * page.  Defined in macvm.c. */
bool macvm_download_complete(long status);

/* Returns whether resume data is kept for the next attempt: only when the
 * download did not complete and Foundation gave some; otherwise the file is
 * removed, as stale.  Defined in macvm.c. */
bool macvm_keeps_resume_data(bool complete, bool has_data);

/* Downloads url to dest, resuming from resume_data (a file; may not exist)
 * and writing resume data there when interrupted.  Returns BRIDGE_OK when dest
 * is complete, BRIDGE_INTERRUPTED on Ctrl-C, BRIDGE_FAILED with *err. */
int bridge_download(const char *url, const char *dest, const char *resume_data,
                    bridge_progress_fn progress, void *ctx, struct bridge_error *err);

/* Loads a restore image and reports what Virtualization thinks of it. */
int bridge_load_restore_image(const char *path, struct restore_image_info *info,
                              struct bridge_error *err);

/* Creates AuxiliaryStorage, HardwareModel and MachineIdentifier in the
 * bundle, then installs macOS onto Disk.img from spec->restore_image, which
 * the last bridge_load_restore_image loaded (it is not loaded again).  Returns
 * BRIDGE_OK when the installer finished, BRIDGE_INTERRUPTED on Ctrl-C,
 * BRIDGE_FAILED with *err. */
int bridge_install(const struct install_spec *spec, bridge_progress_fn progress,
                   void *ctx, struct bridge_error *err);

/* What validateSaveRestoreSupportWithError: said of the run's configuration
 * (asked on macOS 14+ for every run, so a prediction of macvm.c's that was too
 * strict shows as well as one that was not strict enough). */
enum save_check { SAVE_CHECK_NOT_ASKED, SAVE_CHECK_SUPPORTED, SAVE_CHECK_REFUSED };

/* How a run ended. */
struct run_outcome {
    enum save_check save_check;
    bool guest_stopped;                   /* the guest shut itself down */
    bool saved_state;                     /* state was saved to save_file */
    bool restored_state;                  /* the run resumed from save_file */
    bool restore_attempted;               /* the bridge tried save_file (and then removed it) */
    bool restore_refused;                 /* Virtualization cannot restore into this configuration: save_file kept,
                                             the VM not started (the reason is in error) */
    char restore_failure[512];            /* why a restore failed and it started fresh */
    char save_failure[512];               /* why this run could not save as the spec said (macvm_save_failed) */
    char network_disconnected[512];       /* why the network attachment was disconnected during the run, or "" */
    unsigned debug_stub_port;             /* the port the running stub reported; 0: this macOS did not say */
    bool screenshot_taken;                /* screenshot_path holds the display as the run ended */
    char screenshot_failure[256];         /* why a screenshot asked for was not taken */
    struct bridge_error error;            /* when bridge_run returns BRIDGE_FAILED */
};

/* Boots the VM described by *spec and returns when it has stopped.
 * Prints nothing but the lines the user must see (the lldb command, the DFU
 * ECID); everything else goes into *outcome. */
int bridge_run(const struct vm_spec *spec, struct run_outcome *outcome);

/* Called by the bridge once the VM has started with the port the running
 * debug stub reported (0: it could not be read, or read 0), so macvm.c can
 * tell the user how to attach. Defined in macvm.c. */
void macvm_vm_started(const struct vm_spec *spec, unsigned reported_port);

/* Ctrl-C: who has SIGINT when, and what each Ctrl-C does.
 *
 * macvm.c's handler (catch_interrupts, installed for run and clone) catches
 * SIGINT, SIGTERM and SIGHUP for the rest of the command.  It kills nothing:
 * it sets a flag (macvm_interrupted) and counts (macvm_interrupts), and the
 * command ends by its own path: a run writes its record, a clone removes what
 * it had copied.  While bridge_run runs, the handler turns SIGTERM and SIGHUP
 * into SIGINT, so the bridge sees every way of asking as a Ctrl-C.
 *
 * While the bridge waits (bridge_run, bridge_download, bridge_install) it
 * watches SIGINT too, from the main queue, and gives SIGINT back its previous
 * disposition when it returns.  With macvm.c's handler in place it counts
 * with macvm_interrupts(), so a Ctrl-C that both the handler and the watch
 * see, or that comes while the watch is being set up, counts once.  Without
 * it (install and its download), the bridge ignores SIGINT instead of dying
 * of it, and counts what its watch sees.
 *
 * - Before the VM starts: macvm.c does not call bridge_run once
 *   macvm_interrupted(), and bridge_run asks again once its watch is in
 *   place, so a Ctrl-C in between is not lost either: the VM is not started
 *   (BRIDGE_INTERRUPTED).
 * - While the VM runs: each Ctrl-C is STOP_EVENT_INTERRUPT, and
 *   macvm_stop_action says what it does: the first saves the state
 *   (save_on_stop) or asks the guest to shut down, and one that comes while a
 *   stop is under way stops the VM at once.  With spec->screenshot, the
 *   screen is saved first (once, and not when a stop is under way).
 * - During a download or an installation: macvm_cancel_work says: the first
 *   Ctrl-C cancels it (a download keeps its resume data) and the call returns
 *   BRIDGE_INTERRUPTED; a second ends macvm at once.
 */

/* Returns whether macvm.c's handler has seen an interrupt (Ctrl-C, SIGTERM,
 * SIGHUP) since the command began.  Defined in macvm.c. */
bool macvm_interrupted(void);

/* Returns how many interrupts macvm.c's handler has counted.  Defined in macvm.c. */
unsigned macvm_interrupts(void);

/* Called by the bridge for the nth Ctrl-C (1, 2, ...) during a download or an
 * installation.  Returns true when the bridge cancels the work and waits for it
 * to end; a later Ctrl-C ends macvm in this call, as SIGINT would (the user
 * means it), and false comes back only where SIGINT is blocked.  Defined in macvm.c. */
bool macvm_cancel_work(unsigned nth);

/* What asks a run to end. */
enum stop_event {
    STOP_EVENT_QUIT,                      /* the window's Quit or close button, the Dock's Quit, logout */
    STOP_EVENT_INTERRUPT,                 /* Ctrl-C (SIGTERM and SIGHUP arrive as one) */
    STOP_EVENT_STOP_ITEM,                 /* the menu's Stop */
    STOP_EVENT_FORCE_ITEM,                /* the menu's Force Stop */
};

/* What the bridge does about it. */
enum stop_action {
    STOP_ACTION_NONE,                     /* nothing more: the run is on its way to an end */
    STOP_ACTION_SAVE,                     /* pause, save the state to save_file, stop */
    STOP_ACTION_REQUEST,                  /* ask the guest to shut down */
    STOP_ACTION_FORCE,                    /* stop the VM at once */
};

/* Returns what the bridge does at event; stopping: a stop or save was begun
 * already.  Defined in macvm.c. */
enum stop_action macvm_stop_action(const struct vm_spec *spec, const struct run_outcome *outcome,
                                   enum stop_event event, bool stopping);

/* Called by the bridge when the run cannot save as the spec said: at step
 * "validation" (validateSaveRestoreSupportWithError: refuses the configuration,
 * before the VM starts), "pause" or "save".  Tells the user in one line, keeps
 * why in outcome->save_failure for run.json, and returns what to do instead
 * (guest_running: whether the guest can still be asked to shut down).
 * Defined in macvm.c. */
enum stop_action macvm_save_failed(struct run_outcome *outcome, const char *step, const char *why,
                                   bool guest_running);

/* Called by the bridge when restoring save_file failed (it removes the file
 * all the same).  Tells the user in one line, keeps why in
 * outcome->restore_failure for run.json, and returns whether the VM starts
 * fresh (else the run ends with the restore's error).  Defined in macvm.c. */
bool macvm_restore_failed(struct run_outcome *outcome, const char *why);

/* Returns the window's content size in points for a display of *spec on a
 * screen with backing scale (pixels per point).  Defined in macvm.c. */
void macvm_window_size(const struct vm_spec *spec, double scale, double *width, double *height);

/* Replaces the MachineIdentifier at path (a clone's copy of its original's)
 * with a clone identifier: a new ECID, the original's serial number, and the
 * ECID checks that keep a plain new identifier from booting an installed VM
 * turned off (private, macOS 13+).  Returns BRIDGE_OK, BRIDGE_UNAVAILABLE
 * (this macOS lacks it) or BRIDGE_FAILED with *err. */
int bridge_clone_identity(const char *machine_identifier, struct bridge_error *err);

#endif
