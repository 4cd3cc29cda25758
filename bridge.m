/* bridge.m -- the only file that speaks to Apple's frameworks; its contract is bridge.h.
 *
 * Every function is called on the main thread and returns when its work is
 * done: Apple's asynchronous calls report on the main queue while the bridge
 * runs the main run loop.  API of macOS 13 and 14 is called behind @available
 * (the deployment target is 12); private API is looked up at run time, and a
 * macOS that lacks it gets BRIDGE_UNAVAILABLE naming it, never a crash.
 */
#import <AppKit/AppKit.h>
#import <Foundation/Foundation.h>
#import <Security/Security.h>
#import <Virtualization/Virtualization.h>
#include <objc/message.h>
#include <objc/runtime.h>
#include <signal.h>
#include <string.h>
#include <sys/sysctl.h>

#include "bridge.h"

NS_ASSUME_NONNULL_BEGIN

#if __MAC_OS_X_VERSION_MAX_ALLOWED < 140000
/* macOS 14 API as Apple's documentation declares it, for SDKs older than 14. */
@interface VZVirtualMachine (MacvmMacOS14)
- (void)restoreMachineStateFromURL:(NSURL *)saveFileURL
                 completionHandler:(void (^)(NSError *_Nullable errorOrNil))completionHandler
    API_AVAILABLE(macos(14.0));
- (void)saveMachineStateToURL:(NSURL *)saveFileURL
            completionHandler:(void (^)(NSError *_Nullable errorOrNil))completionHandler
    API_AVAILABLE(macos(14.0));
@property(readonly) NSArray *graphicsDevices API_AVAILABLE(macos(14.0));   /* of VZGraphicsDevice, with displays */
@end

@interface VZVirtualMachineConfiguration (MacvmMacOS14)
- (BOOL)validateSaveRestoreSupportWithError:(NSError **)error API_AVAILABLE(macos(14.0));
@end

@interface VZVirtualMachineView (MacvmMacOS14)
@property BOOL automaticallyReconfiguresDisplay API_AVAILABLE(macos(14.0));
@end

@interface NSApplication (MacvmMacOS14)
- (void)activate API_AVAILABLE(macos(14.0));
@end
#endif

/* Private methods of public classes, as class dumps of Virtualization show them:
 * declared only to type the calls, each made after a respondsToSelector: check.
 * Setters are called by name instead (set_private_value, set_private_object). */
@interface VZVirtualMachine (MacvmPrivate)
- (void)_startWithOptions:(id)options completionHandler:(void (^)(NSError *_Nullable))completionHandler;
- (nullable id)_debugStub;
@end

@interface VZMacMachineIdentifier (MacvmPrivate)
+ (nullable instancetype)_machineIdentifierWithSerialNumber:(id)serialNumber;
+ (nullable instancetype)_machineIdentifierForVirtualMachineClone;
+ (nullable instancetype)_machineIdentifierForVirtualMachineCloneWithSerialNumber:(id)serialNumber;
- (nullable id)_serialNumber;
@end

@interface VZMacAuxiliaryStorage (MacvmPrivate)
- (BOOL)_setDataValue:(NSData *)value forNVRAMVariableNamed:(NSString *)name error:(NSError **)error;
- (BOOL)_setValue:(id)value forNVRAMVariableNamed:(NSString *)name error:(NSError **)error;
- (BOOL)_removeNVRAMVariableNamed:(NSString *)name error:(NSError **)error;
- (nullable id)_valueForNVRAMVariableNamed:(NSString *)name error:(NSError **)error;
@end

/* Methods of the private classes _VZGDBDebugStubConfiguration (initWithPort:),
 * _VZGDBDebugStub (port) and _VZMacSerialNumber (initWithString:), and of
 * VZGraphicsDisplay (macOS 14+, the screenshot), to type the calls. */
@protocol MacvmPrivate <NSObject>
- (instancetype)initWithPort:(unsigned short)port;
- (unsigned short)port;
- (nullable instancetype)initWithString:(NSString *)string;
- (void)_takeScreenshotWithCompletionHandler:(void (^)(id _Nullable image, NSError *_Nullable error))handler;
@end

NS_ASSUME_NONNULL_END

static NSString *const macvm_domain = @"macvm";

/* ---- strings and errors ------------------------------------------------------------------------------- */

/* Returns s as an NSString ("" when it is not UTF-8, so no caller gets nil). */
static NSString *ns(const char *s)
{
    return [NSString stringWithUTF8String:s] ?: @"";
}

static NSURL *file_url(const char *path)
{
    return [NSURL fileURLWithPath:ns(path)];
}

/* Copies s into dst (size bytes), truncating; returns whether it fit. */
static bool copy_string(char *dst, size_t size, NSString *_Nullable s)
{
    return strlcpy(dst, s.UTF8String ?: "", size) < size;
}

/* "" when there is none. */
static void sysctl_string(const char *name, char *out, size_t size)
{
    if (sysctlbyname(name, out, &size, NULL, 0) != 0)
        out[0] = '\0';
}

/* Returns the host's macOS version, "14.5" or "13.6.1": the kernel's, since
 * NSProcessInfo says 16.0 under SYSTEM_VERSION_COMPAT=1 and to binaries built
 * with SDKs before 26. */
static NSString *host_os_version(void)
{
    char version[32];
    sysctl_string("kern.osproductversion", version, sizeof version);
    return ns(version);
}

/* Returns an error of the bridge's own; its code is the bridge status it stands for. */
static NSError *macvm_error(int status, NSString *message)
{
    return [NSError errorWithDomain:macvm_domain code:status userInfo:@{NSLocalizedDescriptionKey : message}];
}

/* Sets *error to a failure described by format; returns NO. */
NS_FORMAT_FUNCTION(2, 3) static BOOL failed(NSError **error, NSString *format, ...)
{
    va_list args;
    va_start(args, format);
    NSString *message = [[NSString alloc] initWithFormat:format arguments:args];
    va_end(args);
    if (error)
        *error = macvm_error(BRIDGE_FAILED, message);
    return NO;
}

/* Sets *error to say that this macOS lacks what (a class or a method); returns NO. */
static BOOL lacks(NSString *what, NSError **error)
{
    if (error)
        *error = macvm_error(BRIDGE_UNAVAILABLE,
                             [NSString stringWithFormat:@"%@ is not available on macOS %@", what, host_os_version()]);
    return NO;
}

static Class _Nullable private_class(NSString *name, NSError **error)
{
    Class cls = NSClassFromString(name);
    if (!cls)
        lacks([@"class " stringByAppendingString:name], error);
    return cls;
}

/* Returns whether instances of cls answer sel; otherwise sets *error naming the
 * method.  For a class method, pass the metaclass: object_getClass(cls). */
static BOOL has_method(Class cls, SEL sel, NSError **error)
{
    if (class_respondsToSelector(cls, sel))
        return YES;
    return lacks([NSString stringWithFormat:@"%c[%@ %@]", class_isMetaClass(cls) ? '+' : '-', NSStringFromClass(cls),
                                            NSStringFromSelector(sel)],
                 error);
}

/* Sets a private integer or BOOL property of target through the setter called
 * setter (one taking a BOOL reads the low byte of the same register); returns
 * NO with *error when this macOS lacks it. */
static BOOL set_private_value(id target, const char *setter, long long value, NSError **error)
{
    SEL sel = sel_registerName(setter);
    if (!has_method([target class], sel, error))
        return NO;
    ((void (*)(id, SEL, long long))objc_msgSend)(target, sel, value);
    return YES;
}

/* The same for a private property that holds an object. */
static BOOL set_private_object(id target, const char *setter, id value, NSError **error)
{
    SEL sel = sel_registerName(setter);
    if (!has_method([target class], sel, error))
        return NO;
    ((void (*)(id, SEL, id))objc_msgSend)(target, sel, value);
    return YES;
}

/* Returns e's description followed by its underlying error's, where
 * Virtualization often keeps the detail (an errno, a helper's reason). */
static NSString *_Nullable describe(NSError *_Nullable e)
{
    NSError *underlying = e.userInfo[NSUnderlyingErrorKey];
    if (!underlying)
        return e.localizedDescription;
    return [NSString stringWithFormat:@"%@ (%@)", e.localizedDescription, underlying.description];
}

/* Fills *err from e; returns the bridge status e stands for. */
static int report(struct bridge_error *err, NSError *_Nullable e)
{
    NSError *error = e ?: macvm_error(BRIDGE_FAILED, @"failed without saying why");
    copy_string(err->domain, sizeof err->domain, error.domain);
    err->code = error.code;
    copy_string(err->message, sizeof err->message, describe(error));
    if ([error.domain isEqualToString:macvm_domain] && error.code == BRIDGE_UNAVAILABLE)
        return BRIDGE_UNAVAILABLE;
    return BRIDGE_FAILED;
}

/* ---- waiting, progress and Ctrl-C ------------------------------------------------------------------- */

/* Calls begin with the block that ends the wait, then runs the main run loop
 * (AppKit's event loop when there is a window) until that block is called. */
static void wait_for(void (^begin)(dispatch_block_t finish))
{
    __block bool finished = false;
    begin(^{
        finished = true;
        CFRunLoopStop(CFRunLoopGetMain());
        if (!NSApp)
            return;
        [NSApp stop:nil];
        /* -stop: takes effect once AppKit has handled an event: hand it one. */
        [NSApp postEvent:[NSEvent otherEventWithType:NSEventTypeApplicationDefined location:NSZeroPoint modifierFlags:0
                                           timestamp:0 windowNumber:0 context:nil subtype:0 data1:0 data2:0]
                 atStart:YES];
    });
    while (!finished) {
        if (NSApp)
            [NSApp run];
        else
            CFRunLoopRun();
    }
}

/* Calls on_interrupt on the main queue once for each Ctrl-C; returns the
 * block that stops watching and gives SIGINT back its previous disposition.
 * How the count is kept with and without macvm.c's handler: bridge.h, "Ctrl-C". */
static dispatch_block_t watch_interrupts(dispatch_block_t on_interrupt)
{
    struct sigaction previous;
    sigaction(SIGINT, NULL, &previous);
    bool counted = previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN;
    if (previous.sa_handler == SIG_DFL) {
        struct sigaction ignore = previous;
        ignore.sa_handler = SIG_IGN;
        sigaction(SIGINT, &ignore, NULL);
    }
    dispatch_source_t source = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGINT, 0,
                                                      dispatch_get_main_queue());
    /* Interrupts before this watch are the caller's (macvm_interrupted). */
    __block unsigned long handled = counted ? macvm_interrupts() : 0, seen = 0;
    dispatch_block_t catch_up = ^{
        unsigned long total = counted ? macvm_interrupts() : seen;
        while (handled < total) {
            handled++;
            on_interrupt();
        }
    };
    dispatch_source_set_event_handler(source, ^{
        seen += dispatch_source_get_data(source);
        catch_up();
    });
    dispatch_source_set_registration_handler(source, catch_up);
    dispatch_resume(source);
    return ^{
        dispatch_source_cancel(source);
        sigaction(SIGINT, &previous, NULL);
    };
}

typedef void (^progress_measure)(uint64_t *done, uint64_t *total);

/* Waits as wait_for does for work that begin starts (a download, an
 * installation), passing what measure reports to progress when it has
 * changed, four times a second on the main queue: polled rather than
 * observed, since KVO would call from other threads and macvm.c expects the
 * main one.  Ctrl-C is watched only once begin has returned (cancelling an
 * installation's progress before it has begun raises); macvm_cancel_work says
 * when to call cancel, which must lead to finish.  Returns whether the user
 * interrupted. */
static bool wait_cancellable(void (^begin)(dispatch_block_t finish), void (^cancel)(dispatch_block_t finish),
                             progress_measure measure, bridge_progress_fn progress, void *ctx)
{
    __block bool finished = false;
    __block unsigned interrupts = 0;
    __block uint64_t reported = UINT64_MAX;
    dispatch_block_t tick = ^{
        uint64_t done, total;
        measure(&done, &total);
        if (progress && done != reported)
            progress(ctx, reported = done, total);
    };
    dispatch_source_t timer = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, dispatch_get_main_queue());
    dispatch_source_set_timer(timer, DISPATCH_TIME_NOW, NSEC_PER_SEC / 4, NSEC_PER_SEC / 20);
    dispatch_source_set_event_handler(timer, tick);
    __block dispatch_block_t unwatch = nil;
    wait_for(^(dispatch_block_t finish) {
        dispatch_block_t end = ^{
            finished = true;
            finish();
        };
        begin(end);
        unwatch = watch_interrupts(^{
            if (!finished && macvm_cancel_work(++interrupts))
                cancel(end);
        });
        dispatch_resume(timer);
    });
    dispatch_source_cancel(timer);
    tick();
    unwatch();
    return interrupts > 0;
}

/* ---- host ------------------------------------------------------------------------------------------------ */

/* Returns whether the running binary is signed with entitlement set to true. */
static bool entitled(CFStringRef entitlement)
{
    SecTaskRef task = SecTaskCreateFromSelf(NULL);
    CFTypeRef value = task ? SecTaskCopyValueForEntitlement(task, entitlement, NULL) : NULL;
    bool yes = value && CFEqual(value, kCFBooleanTrue);
    if (value)
        CFRelease(value);
    if (task)
        CFRelease(task);
    return yes;
}

int bridge_host_info(struct host_info *info)
{
    memset(info, 0, sizeof *info);
    @autoreleasepool {
        /* False in a VM without nested virtualization, where nothing would validate. */
        info->available = VZVirtualMachine.isSupported;
        copy_string(info->os_version, sizeof info->os_version, host_os_version());
        sysctl_string("kern.osversion", info->os_build, sizeof info->os_build);
        sysctl_string("hw.model", info->model, sizeof info->model);
        sysctl_string("machdep.cpu.brand_string", info->chip, sizeof info->chip);
        info->has_virtualization_entitlement = entitled(CFSTR("com.apple.security.virtualization"));
        info->has_private_entitlement = entitled(CFSTR("com.apple.private.virtualization"));
        info->min_cpu_count = (unsigned)VZVirtualMachineConfiguration.minimumAllowedCPUCount;
        info->max_cpu_count = (unsigned)VZVirtualMachineConfiguration.maximumAllowedCPUCount;
        info->min_memory_bytes = VZVirtualMachineConfiguration.minimumAllowedMemorySize;
        info->max_memory_bytes = VZVirtualMachineConfiguration.maximumAllowedMemorySize;
        if (@available(macOS 14, *))
            info->can_save_restore = true;
    }
    return BRIDGE_OK;
}

bool bridge_has(const char *class_name, const char *selector)
{
    @autoreleasepool {
        Class cls = NSClassFromString(ns(class_name));
        if (!cls || !selector)
            return cls != Nil;
        bool class_method = selector[0] == '+';   /* "+name": a class method (or class property) */
        return class_respondsToSelector(class_method ? object_getClass(cls) : cls,
                                        sel_registerName(selector + class_method));
    }
}

/* ---- restore images ------------------------------------------------------------------------------------ */

/* Returns the restore image at path, or with path NULL the latest this Mac
 * supports (to download), as Virtualization answers (on any thread); nil with
 * *error. */
static VZMacOSRestoreImage *_Nullable restore_image(const char *_Nullable path, NSError **error)
{
    __block VZMacOSRestoreImage *image = nil;
    __block NSError *failure = nil;
    wait_for(^(dispatch_block_t finish) {
        void (^answer)(VZMacOSRestoreImage *, NSError *) = ^(VZMacOSRestoreImage *i, NSError *e) {
            dispatch_async(dispatch_get_main_queue(), ^{
                image = i;
                failure = e;
                finish();
            });
        };
        if (path)
            [VZMacOSRestoreImage loadFileURL:file_url(path) completionHandler:answer];
        else
            [VZMacOSRestoreImage fetchLatestSupportedWithCompletionHandler:answer];
    });
    if (!image && error)
        *error = failure;
    return image;
}

int bridge_latest_image_url(char *url, size_t url_size, struct bridge_error *err)
{
    @autoreleasepool {
        NSError *error = nil;
        VZMacOSRestoreImage *image = restore_image(NULL, &error);
        NSString *address = image.URL.absoluteString;
        if (image && !copy_string(url, url_size, address))
            failed(&error, @"the image's URL is longer than %zu bytes: %@", url_size, address);
        return error ? report(err, error) : BRIDGE_OK;
    }
}

/* The image bridge_load_restore_image loaded last, and from where: bridge_install
 * installs it without loading it again. */
static VZMacOSRestoreImage *_Nullable loaded_image;
static NSString *_Nullable loaded_path;

int bridge_load_restore_image(const char *path, struct restore_image_info *info, struct bridge_error *err)
{
    memset(info, 0, sizeof *info);
    @autoreleasepool {
        NSError *error = nil;
        VZMacOSRestoreImage *image = loaded_image = restore_image(path, &error);
        loaded_path = ns(path);
        if (!image)
            return report(err, error);
        VZMacOSConfigurationRequirements *requirements = image.mostFeaturefulSupportedConfiguration;
        info->supported_on_host = requirements != nil;
        info->min_cpu_count = (unsigned)requirements.minimumSupportedCPUCount;
        info->min_memory_bytes = requirements.minimumSupportedMemorySize;
        copy_string(info->build, sizeof info->build, image.buildVersion);
        NSOperatingSystemVersion v = image.operatingSystemVersion;
        snprintf(info->os_version, sizeof info->os_version, "%ld.%ld.%ld", (long)v.majorVersion, (long)v.minorVersion,
                 (long)v.patchVersion);
        return BRIDGE_OK;
    }
}

/* ---- downloads ----------------------------------------------------------------------------------------- */

/* Moves a finished download from location (deleted once the completion handler
 * returns) to destination; returns nil, or the error. */
static NSError *_Nullable keep_download(NSURL *location, NSURLResponse *response, NSURL *destination)
{
    NSHTTPURLResponse *http = (NSHTTPURLResponse *)response;
    long status = [http isKindOfClass:NSHTTPURLResponse.class] ? (long)http.statusCode : 0;
    if (!macvm_download_complete(status))
        return macvm_error(BRIDGE_FAILED, [NSString stringWithFormat:@"%@ answered HTTP %ld", http.URL, status]);
    NSError *error = nil;
    /* A leftover of an earlier attempt would make the move fail; none is fine. */
    [NSFileManager.defaultManager removeItemAtURL:destination error:nil];
    [NSFileManager.defaultManager moveItemAtURL:location toURL:destination error:&error];
    return error;
}

/* Writes data to the resume file at path when macvm.c keeps it, else removes
 * the file.  Failing either only costs the next attempt a fresh start. */
static void keep_resume_data(NSString *path, bool complete, NSData *_Nullable data)
{
    if (macvm_keeps_resume_data(complete, data != nil))
        [data writeToFile:path atomically:YES];
    else
        [NSFileManager.defaultManager removeItemAtPath:path error:nil];
}

int bridge_download(const char *url, const char *dest, const char *resume_data, bridge_progress_fn progress,
                    void *ctx, struct bridge_error *err)
{
    @autoreleasepool {
        NSURL *source = [NSURL URLWithString:ns(url)], *destination = file_url(dest);
        NSString *resume_path = ns(resume_data);
        if (!source)
            return report(err, macvm_error(BRIDGE_FAILED, [@"not a URL: " stringByAppendingString:ns(url)]));
        /* Completion on the main queue, which the bridge keeps running while it waits. */
        NSURLSessionConfiguration *configuration = NSURLSessionConfiguration.defaultSessionConfiguration;
        NSURLSession *session = [NSURLSession sessionWithConfiguration:configuration delegate:nil
                                                         delegateQueue:NSOperationQueue.mainQueue];
        __block NSURLSessionDownloadTask *task = nil;
        __block bool cancelled = false, complete = false;
        __block NSError *failure = nil;
        bool interrupted = wait_cancellable(^(dispatch_block_t finish) {
            void (^completion)(NSURL *, NSURLResponse *, NSError *) = ^(NSURL *location, NSURLResponse *response,
                                                                        NSError *error) {
                if (cancelled && error)
                    return; /* the resume-data callback finishes */
                failure = error ?: keep_download(location, response, destination);
                complete = !failure;
                /* Resume data comes with a transfer error. */
                keep_resume_data(resume_path, complete, error.userInfo[NSURLSessionDownloadTaskResumeData]);
                finish();
            };
            NSData *resume = [NSData dataWithContentsOfFile:resume_path];
            task = resume ? [session downloadTaskWithResumeData:resume completionHandler:completion] : nil;
            if (!task) /* no resume data, or data NSURLSession cannot read */
                task = [session downloadTaskWithURL:source completionHandler:completion];
            [task resume];
        }, ^(dispatch_block_t finish) {
            cancelled = true;
            [task cancelByProducingResumeData:^(NSData *data) {
                dispatch_async(dispatch_get_main_queue(), ^{
                    keep_resume_data(resume_path, false, data);
                    finish();
                });
            }];
        }, ^(uint64_t *done, uint64_t *total) {
            *done = (uint64_t)task.countOfBytesReceived;
            *total = (uint64_t)MAX(task.countOfBytesExpectedToReceive, 0); /* -1: unknown */
        }, progress, ctx);
        [session invalidateAndCancel];
        /* A download that completed as Ctrl-C came is kept, and counts as done. */
        return failure ? report(err, failure) : complete || !interrupted ? BRIDGE_OK : BRIDGE_INTERRUPTED;
    }
}

/* ---- configuration ------------------------------------------------------------------------------------- */

static BOOL supported_model(VZMacHardwareModel *model, NSString *source, NSError **error)
{
    return model.supported || failed(error, @"the hardware model of %@ is not supported on this host (macOS %@)",
                                     source, host_os_version());
}

/* Returns what cls (VZMacHardwareModel or VZMacMachineIdentifier) makes of the
 * data in the file at path, what it should be; or nil with *error. */
static id _Nullable read_data_representation(Class cls, const char *path, NSString *what, NSError **error)
{
    NSData *data = [NSData dataWithContentsOfFile:ns(path) options:0 error:error];
    id object = data ? [[cls alloc] initWithDataRepresentation:data] : nil;
    if (data && !object)
        failed(error, @"Virtualization does not accept %@ as a %@", ns(path), what);
    return object;
}

static VZMacPlatformConfiguration *mac_platform(VZMacHardwareModel *model, VZMacMachineIdentifier *identifier,
                                                VZMacAuxiliaryStorage *auxiliary)
{
    VZMacPlatformConfiguration *platform = [[VZMacPlatformConfiguration alloc] init];
    platform.hardwareModel = model;
    platform.machineIdentifier = identifier;
    platform.auxiliaryStorage = auxiliary;
    return platform;
}

/* Returns the platform stored in an installed bundle, or nil with *error. */
static VZMacPlatformConfiguration *_Nullable bundle_platform(const struct vm_spec *s, NSError **error)
{
    VZMacHardwareModel *model = read_data_representation(VZMacHardwareModel.class, s->hardware_model,
                                                         @"hardware model", error);
    VZMacMachineIdentifier *identifier = model ? read_data_representation(VZMacMachineIdentifier.class,
                                                                          s->machine_identifier,
                                                                          @"machine identifier", error)
                                               : nil;
    if (!identifier || !supported_model(model, ns(s->hardware_model), error))
        return nil;
    NSURL *auxiliary_url = file_url(s->auxiliary_storage);
    VZMacAuxiliaryStorage *auxiliary;
    if (@available(macOS 13, *))
        auxiliary = [[VZMacAuxiliaryStorage alloc] initWithURL:auxiliary_url];
    else
        auxiliary = [[VZMacAuxiliaryStorage alloc] initWithContentsOfURL:auxiliary_url];
    return mac_platform(model, identifier, auxiliary);
}

/* Returns a new machine identifier with the serial number serial (private,
 * macOS 13+; Virtualization picks the ECID), or nil with *error. */
static VZMacMachineIdentifier *_Nullable identifier_with_serial(const char *serial, NSError **error)
{
    Class serial_class = private_class(@"_VZMacSerialNumber", error);
    if (!serial_class || !has_method(serial_class, @selector(initWithString:), error)
        || !has_method(object_getClass(VZMacMachineIdentifier.class), @selector(_machineIdentifierWithSerialNumber:),
                       error))
        return nil;
    id number = [(id<MacvmPrivate>)[serial_class alloc] initWithString:ns(serial)];
    VZMacMachineIdentifier *identifier = number ? [VZMacMachineIdentifier _machineIdentifierWithSerialNumber:number]
                                                : nil;
    if (!identifier)
        failed(error, @"Virtualization does not take %@ as a serial number", ns(serial));
    return identifier;
}

/* Returns the platform of a VM about to be installed: a new AuxiliaryStorage
 * for model and a new machine identifier (with serial, unless ""), both
 * written into the bundle; or nil with *error. */
static VZMacPlatformConfiguration *_Nullable new_platform(const struct vm_spec *s, VZMacHardwareModel *model,
                                                          const char *serial, NSError **error)
{
    if (!supported_model(model, @"the restore image", error))
        return nil;
    VZMacMachineIdentifier *identifier = *serial ? identifier_with_serial(serial, error)
                                                 : [[VZMacMachineIdentifier alloc] init];
    if (!identifier)
        return nil;
    NSURL *auxiliary_url = file_url(s->auxiliary_storage);
    VZMacAuxiliaryStorage *auxiliary = [[VZMacAuxiliaryStorage alloc] initCreatingStorageAtURL:auxiliary_url
                                                                                  hardwareModel:model
                                                                                        options:0
                                                                                          error:error];
    /* The bundle is new: a file already there means something is wrong, keep it. */
    NSDataWritingOptions options = NSDataWritingWithoutOverwriting;
    if (!auxiliary || ![model.dataRepresentation writeToFile:ns(s->hardware_model) options:options error:error]
        || ![identifier.dataRepresentation writeToFile:ns(s->machine_identifier) options:options error:error])
        return nil;
    return mac_platform(model, identifier, auxiliary);
}

/* Gives config the keyboards and pointing devices *s names.  The Mac keyboard
 * by name: SDKs before 14 do not declare the class; macvm.c names it only for
 * macOS 14+ hosts, as the trackpad for 13+. */
static void add_input_devices(VZVirtualMachineConfiguration *config, const struct vm_spec *s)
{
    NSMutableArray<VZKeyboardConfiguration *> *keyboards = [NSMutableArray array];
    NSMutableArray<VZPointingDeviceConfiguration *> *pointers = [NSMutableArray array];
    Class mac_keyboard = NSClassFromString(@"VZMacKeyboardConfiguration");
    if (s->mac_keyboard && mac_keyboard)
        [keyboards addObject:[[mac_keyboard alloc] init]];
    if (s->usb_keyboard)
        [keyboards addObject:[[VZUSBKeyboardConfiguration alloc] init]];
    if (@available(macOS 13, *))
        if (s->mac_trackpad)
            [pointers addObject:[[VZMacTrackpadConfiguration alloc] init]];
    if (s->usb_pointer)
        [pointers addObject:[[VZUSBScreenCoordinatePointingDeviceConfiguration alloc] init]];
    config.keyboards = keyboards;
    config.pointingDevices = pointers;
}

/* Returns a virtio sound device playing on the host's output.  No input
 * stream: it would make macOS ask the user for microphone access. */
static VZVirtioSoundDeviceConfiguration *sound_device(void)
{
    VZVirtioSoundDeviceOutputStreamConfiguration *output = [[VZVirtioSoundDeviceOutputStreamConfiguration alloc] init];
    output.sink = [[VZHostAudioOutputStreamSink alloc] init];
    VZVirtioSoundDeviceConfiguration *sound = [[VZVirtioSoundDeviceConfiguration alloc] init];
    sound.streams = @[ output ];
    return sound;
}

/* Returns a NAT virtio network device with the MAC address mac ("" lets
 * Virtualization pick one), or nil with *error when mac is not one. */
static VZVirtioNetworkDeviceConfiguration *_Nullable network_device(const char *mac, NSError **error)
{
    VZVirtioNetworkDeviceConfiguration *network = [[VZVirtioNetworkDeviceConfiguration alloc] init];
    network.attachment = [[VZNATNetworkDeviceAttachment alloc] init];
    if (!*mac)
        return network;
    VZMACAddress *address = [[VZMACAddress alloc] initWithString:ns(mac)];
    if (!address) {
        failed(error, @"%@ is not a MAC address", ns(mac));
        return nil;
    }
    network.MACAddress = address;
    return network;
}

/* Returns an attachment that appends what the guest writes to the file at
 * path (macvm.c created it), or nil with *error. */
static VZFileHandleSerialPortAttachment *_Nullable log_attachment(const char *path, NSError **error)
{
    NSFileHandle *out = [NSFileHandle fileHandleForWritingToURL:file_url(path) error:error];
    if (!out || ![out seekToEndReturningOffset:NULL error:error])
        return nil;
    return [[VZFileHandleSerialPortAttachment alloc] initWithFileHandleForReading:nil fileHandleForWriting:out];
}

/* Returns the serial ports *s asks for: the virtio console and the private
 * PL011 UART, each writing to its file; nil with *error. */
static NSArray<VZSerialPortConfiguration *> *_Nullable serial_ports(const struct vm_spec *s, NSError **error)
{
    NSMutableArray<VZSerialPortConfiguration *> *ports = [NSMutableArray array];
    if (s->console) {
        VZVirtioConsoleDeviceSerialPortConfiguration *console = [[VZVirtioConsoleDeviceSerialPortConfiguration alloc]
            init];
        if (!(console.attachment = log_attachment(s->console_log, error)))
            return nil;
        [ports addObject:console];
    }
    if (s->serial) {
        Class uart_class = private_class(@"_VZPL011SerialPortConfiguration", error);
        VZSerialPortConfiguration *uart = uart_class ? [[uart_class alloc] init] : nil;
        if (!uart || !(uart.attachment = log_attachment(s->serial_log, error)))
            return nil;
        [ports addObject:uart];
    }
    return ports;
}

/* Returns the one virtio-fs device holding the shared folders of *s, each
 * under its name, with the tag macvm.c chose; nil with *error. */
static VZVirtioFileSystemDeviceConfiguration *_Nullable share_device(const struct vm_spec *s, NSError **error)
{
    NSMutableDictionary<NSString *, VZSharedDirectory *> *folders = [NSMutableDictionary dictionary];
    for (unsigned i = 0; i < s->n_shares; i++)
        folders[ns(s->shares[i].name)] = [[VZSharedDirectory alloc] initWithURL:file_url(s->shares[i].path)
                                                                        readOnly:s->shares[i].read_only];
    if (![VZVirtioFileSystemDeviceConfiguration validateTag:ns(s->share_tag) error:error])
        return nil;
    VZVirtioFileSystemDeviceConfiguration *device = [[VZVirtioFileSystemDeviceConfiguration alloc]
        initWithTag:ns(s->share_tag)];
    device.share = [[VZMultipleDirectoryShare alloc] initWithDirectories:folders];
    return device;
}

/* Sets the panic action where this macOS keeps it in the configuration (26+)
 * and adds the panic device (14+), as *s says; returns NO with *error. */
static BOOL configure_panic(VZVirtualMachineConfiguration *config, const struct vm_spec *s, NSError **error)
{
    if (s->panic_path == PANIC_VIA_CONFIGURATION &&
        !set_private_value(config, "_setPanicAction:", s->panic_action_value, error))
        return NO;
    if (!s->panic_device)
        return YES;
    Class device_class = private_class(@"_VZPvPanicDeviceConfiguration", error);
    return device_class && set_private_object(config, "_setPanicDevice:", [[device_class alloc] init], error);
}

/* Returns the configuration *s describes around platform, or nil with *error. */
static VZVirtualMachineConfiguration *_Nullable configuration_for(const struct vm_spec *s,
                                                                  VZMacPlatformConfiguration *platform, NSError **error)
{
    static const VZDiskImageCachingMode caching[] = {
        [DISK_CACHING_AUTOMATIC] = VZDiskImageCachingModeAutomatic,
        [DISK_CACHING_CACHED] = VZDiskImageCachingModeCached,
        [DISK_CACHING_UNCACHED] = VZDiskImageCachingModeUncached,
    };
    static const VZDiskImageSynchronizationMode sync[] = {
        [DISK_SYNC_FULL] = VZDiskImageSynchronizationModeFull,
        [DISK_SYNC_FSYNC] = VZDiskImageSynchronizationModeFsync,
        [DISK_SYNC_NONE] = VZDiskImageSynchronizationModeNone,
    };
    VZDiskImageStorageDeviceAttachment *disk = [[VZDiskImageStorageDeviceAttachment alloc]
        initWithURL:file_url(s->disk_image) readOnly:NO cachingMode:caching[s->disk_caching]
        synchronizationMode:sync[s->disk_sync] error:error];
    VZVirtioNetworkDeviceConfiguration *network = disk ? network_device(s->mac_address, error) : nil;
    if (!network)
        return nil;
    VZMacGraphicsDeviceConfiguration *graphics = [[VZMacGraphicsDeviceConfiguration alloc] init];
    graphics.displays = @[ [[VZMacGraphicsDisplayConfiguration alloc] initWithWidthInPixels:s->display_width
                                                                              heightInPixels:s->display_height
                                                                               pixelsPerInch:s->display_ppi] ];
    VZVirtualMachineConfiguration *config = [[VZVirtualMachineConfiguration alloc] init];
    config.bootLoader = [[VZMacOSBootLoader alloc] init];
    config.platform = platform;
    config.CPUCount = s->cpu_count;
    config.memorySize = s->memory_bytes;
    config.graphicsDevices = @[ graphics ];
    config.storageDevices = @[ [[VZVirtioBlockDeviceConfiguration alloc] initWithAttachment:disk] ];
    config.networkDevices = @[ network ];
    add_input_devices(config, s);
    if (s->audio)
        config.audioDevices = @[ sound_device() ];
    NSArray<VZSerialPortConfiguration *> *ports = serial_ports(s, error);
    VZVirtioFileSystemDeviceConfiguration *shares = s->n_shares ? share_device(s, error) : nil;
    if (!ports || (s->n_shares && !shares) || (s->panic_action && !configure_panic(config, s, error)))
        return nil;
    config.serialPorts = ports;
    if (shares)
        config.directorySharingDevices = @[ shares ];
    return config;
}

/* Attaches the private GDB stub *s asks for; returns NO (with *error) when this macOS lacks it. */
static BOOL attach_debug_stub(VZVirtualMachineConfiguration *config, const struct vm_spec *s, NSError **error)
{
    Class stub_class = private_class(@"_VZGDBDebugStubConfiguration", error);
    SEL init = s->debug_stub_port ? @selector(initWithPort:) : @selector(init);
    if (!stub_class || !has_method(stub_class, init, error))
        return NO;
    /* init: the system chooses the port. */
    id<MacvmPrivate> stub = [stub_class alloc];
    stub = s->debug_stub_port ? [stub initWithPort:(unsigned short)s->debug_stub_port] : [(id)stub init];
    if (!stub)
        return failed(error, @"the GDB stub could not be created (is the port free?)");
    return (!s->debug_stub_all_interfaces || set_private_value(stub, "setListensOnAllNetworkInterfaces:", YES, error))
        && set_private_object(config, "_setDebugStub:", stub, error);
}

/* Returns whether the NVRAM in auxiliary has the variable name (YES when this
 * macOS cannot tell, so a failed removal stays one). */
static BOOL nvram_has(VZMacAuxiliaryStorage *auxiliary, NSString *name)
{
    if (![auxiliary respondsToSelector:@selector(_valueForNVRAMVariableNamed:error:)])
        return YES;
    return [auxiliary _valueForNVRAMVariableNamed:name error:NULL] != nil;
}

/* Writes boot-args into the NVRAM kept in auxiliary ("" removes the variable:
 * nothing to remove is success); returns NO with *error. */
static BOOL write_boot_args(VZMacAuxiliaryStorage *auxiliary, const char *boot_args, NSError **error)
{
    NSString *name = @"boot-args", *value = ns(boot_args);
    Class cls = VZMacAuxiliaryStorage.class;
    if (!value.length)
        return has_method(cls, @selector(_removeNVRAMVariableNamed:error:), error)
            && ([auxiliary _removeNVRAMVariableNamed:name error:error] || !nvram_has(auxiliary, name));
    if ([auxiliary respondsToSelector:@selector(_setDataValue:forNVRAMVariableNamed:error:)])
        return [auxiliary _setDataValue:[value dataUsingEncoding:NSUTF8StringEncoding] forNVRAMVariableNamed:name
                                  error:error];
    /* Before the data setter (macOS 12, 13) there was only this one, which takes the string. */
    return has_method(cls, @selector(_setValue:forNVRAMVariableNamed:error:), error)
        && [auxiliary _setValue:value forNVRAMVariableNamed:name error:error];
}

/* ---- starting -------------------------------------------------------------------------------------------- */

/* Sets *options to the start options *s needs (nil: none); returns NO with
 * *error when this macOS lacks them.  Modes other than the normal one, and the
 * panic action where macvm.c put it there (12 to 15), are start options: on
 * macOS 13+ public ones with private flags, on 12 properties of the private
 * _VZVirtualMachineStartOptions. */
static BOOL start_options(const struct vm_spec *s, id _Nullable __autoreleasing *_Nonnull options, NSError **error)
{
    static const char *const flags_13[] = {
        [START_DFU] = "_setForceDFU:",
        [START_IBOOT_STAGE1] = "_setStopInIBootStage1:",
        [START_IBOOT_STAGE2] = "_setStopInIBootStage2:",
    };
    static const char *const flags_12[] = {
        [START_RECOVERY] = "setBootMacOSRecovery:",
        [START_DFU] = "setForceDFU:",
        [START_IBOOT_STAGE1] = "setStopInIBootStage1:",
        [START_IBOOT_STAGE2] = "setStopInIBootStage2:",
    };
    bool panic = s->panic_action &&
                 (s->panic_path == PANIC_VIA_START_OPTIONS || s->panic_path == PANIC_VIA_START_OPTIONS_12);
    *options = nil;
    if (s->start_mode == START_NORMAL && !panic)
        return YES;
    const char *flag = flags_12[s->start_mode], *panic_setter = "setPanicAction:";
    if (@available(macOS 13, *)) {
        VZMacOSVirtualMachineStartOptions *public_options = [[VZMacOSVirtualMachineStartOptions alloc] init];
        if (s->start_mode == START_RECOVERY)
            public_options.startUpFromMacOSRecovery = YES;
        *options = public_options;
        flag = flags_13[s->start_mode];
        panic_setter = "_setPanicAction:";
    } else {
        Class options_class = private_class(@"_VZVirtualMachineStartOptions", error);
        if (!options_class
            || !has_method(VZVirtualMachine.class, @selector(_startWithOptions:completionHandler:), error))
            return NO;
        *options = [[options_class alloc] init];
    }
    return (!flag || set_private_value(*options, flag, YES, error))
        && (!panic || set_private_value(*options, panic_setter, s->panic_action_value, error));
}

/* Writes image (an NSImage) to path as PNG; returns nil, or why not. */
static NSString *_Nullable write_png(id image, const char *path)
{
    if (![image isKindOfClass:NSImage.class])
        return @"the screenshot was not an image";
    CGImageRef picture = [(NSImage *)image CGImageForProposedRect:NULL context:nil hints:nil];
    NSData *png = picture ? [[[NSBitmapImageRep alloc] initWithCGImage:picture]
                                representationUsingType:NSBitmapImageFileTypePNG properties:@{}]
                          : nil;
    NSError *error = nil;
    if (!png)
        return @"the screenshot could not be turned into a PNG";
    return [png writeToFile:ns(path) options:NSDataWritingWithoutOverwriting error:&error] ? nil : describe(error);
}

/* ---- running --------------------------------------------------------------------------------------------- */

/* One run of a VM, from start (or restore) until it has stopped.  What to do
 * at Quit, Ctrl-C and the menu's items is macvm.c's (macvm_stop_action); the
 * run carries it out. */
@interface MacvmRun : NSObject <VZVirtualMachineDelegate, NSWindowDelegate, NSApplicationDelegate>
@property(readonly) int status;
@end

@implementation MacvmRun {
    const struct vm_spec *_spec;
    struct run_outcome *_outcome;
    VZVirtualMachine *_vm;
    id _options;   /* start_options' */
    dispatch_block_t _finish;
    NSWindow *_window;
    /* How far the run is toward its end.  Each step is taken once, and a step
     * the VM cannot take yet (it is still starting, pausing or saving) is kept
     * and taken when it can: the run never ends while the VM still runs. */
    enum { RUNNING, STOPPING, SAVING, FORCING } _phase;
    bool _started, _request_pending, _save_pending, _force_pending, _screenshot_tried;
}

/* Opens the window unless headless, then starts (or restores) the VM;
 * finish is called once it has stopped. */
- (instancetype)initWithSpec:(const struct vm_spec *)spec outcome:(struct run_outcome *)outcome
               configuration:(VZVirtualMachineConfiguration *)config options:(nullable id)options
                      finish:(dispatch_block_t)finish
{
    if (!(self = [super init]))
        return nil;
    _spec = spec;
    _outcome = outcome;
    _options = options;
    _finish = finish;
    _vm = [[VZVirtualMachine alloc] initWithConfiguration:config];
    _vm.delegate = self;
    if (!_spec->headless)
        [self openWindow];
    if (_spec->restore_saved_state)
        [self restore];
    else
        [self startFresh];
    return self;
}

/* A window showing the VM, in an application whose menu drives the run. */
- (void)openWindow
{
    [NSApplication sharedApplication];
    [NSApp setActivationPolicy:NSApplicationActivationPolicyRegular];
    /* Each item's tag is the stop_event it stands for. */
    NSMenu *menu = [[NSMenu alloc] initWithTitle:@"macvm"];
    [menu addItemWithTitle:@"Stop" action:@selector(menuItem:) keyEquivalent:@""].tag = STOP_EVENT_STOP_ITEM;
    [menu addItemWithTitle:@"Force Stop" action:@selector(menuItem:) keyEquivalent:@""].tag = STOP_EVENT_FORCE_ITEM;
    [menu addItem:NSMenuItem.separatorItem];
    [menu addItemWithTitle:@"Quit" action:@selector(menuItem:) keyEquivalent:@"q"].tag = STOP_EVENT_QUIT;
    for (NSMenuItem *item in menu.itemArray)
        item.target = self;
    NSMenuItem *app_item = [[NSMenuItem alloc] init];
    app_item.submenu = menu;
    NSApp.mainMenu = [[NSMenu alloc] init];
    NSApp.delegate = self;   /* the Dock's Quit, logout and shutdown end the run like Quit */
    [NSApp.mainMenu addItem:app_item];

    VZVirtualMachineView *view = [[VZVirtualMachineView alloc] init];
    view.virtualMachine = _vm;
    view.capturesSystemKeys = YES;
    if (@available(macOS 14, *))
        view.automaticallyReconfiguresDisplay = YES;   /* as Apple's sample: the guest follows the window's size */
    double width, height;
    macvm_window_size(_spec, NSScreen.mainScreen.backingScaleFactor, &width, &height);
    NSRect frame = NSMakeRect(0, 0, width, height);
    NSWindowStyleMask style = NSWindowStyleMaskTitled | NSWindowStyleMaskClosable | NSWindowStyleMaskMiniaturizable
                            | NSWindowStyleMaskResizable;
    _window = [[NSWindow alloc] initWithContentRect:frame styleMask:style backing:NSBackingStoreBuffered defer:NO];
    _window.releasedWhenClosed = NO;
    _window.title = ns(_spec->title);
    _window.contentView = view;
    _window.delegate = self;
    [_window center];
    [_window makeFirstResponder:view];   /* keys go to the guest */
    [_window makeKeyAndOrderFront:nil];
}

/* Comes to the front once AppKit has finished launching (wait_for runs it). */
- (void)applicationDidFinishLaunching:(NSNotification *)notification
{
    if (@available(macOS 14, *))
        [NSApp activate];
    else
        [NSApp activateIgnoringOtherApps:YES];
}

- (void)startFresh
{
    void (^done)(NSError *) = ^(NSError *error) {
        [self started:error];
    };
    if (!_options)
        [_vm startWithCompletionHandler:done];
    else if (@available(macOS 13, *))
        [_vm startWithOptions:_options completionHandler:done];
    else
        [_vm _startWithOptions:_options completionHandler:done];
}

/* Restores the saved state and resumes, or starts fresh when the restore
 * fails.  bridge_run has made sure Virtualization accepts this configuration
 * for it; the save file goes once it was tried (bridge.h). */
- (void)restore
{
    if (@available(macOS 14, *)) {
        _outcome->restore_attempted = true;
        [_vm restoreMachineStateFromURL:file_url(_spec->save_file) completionHandler:^(NSError *failure) {
            /* One that cannot be removed is left for the next restore to reject. */
            [NSFileManager.defaultManager removeItemAtURL:file_url(self->_spec->save_file) error:nil];
            if (failure) {
                if (macvm_restore_failed(self->_outcome, describe(failure).UTF8String ?: ""))
                    [self startFresh];
                else
                    [self fail:failure];
                return;
            }
            [self->_vm resumeWithCompletionHandler:^(NSError *error) {
                self->_outcome->restored_state = !error;
                [self started:error];
            }];
        }];
        return;
    }
    [self fail:macvm_error(BRIDGE_UNAVAILABLE, @"restoring a saved state needs macOS 14")];
}

/* The VM runs, unless error: tell macvm.c, then take a step that waited for it. */
- (void)started:(nullable NSError *)error
{
    if (error) {
        [self fail:error];
        return;
    }
    /* The running stub's port, where this macOS tells it: the only way to learn
     * one the system chose.  0 otherwise: macvm.c decides what to say. */
    id stub = _spec->debug_stub && [_vm respondsToSelector:@selector(_debugStub)] ? [_vm _debugStub] : nil;
    unsigned port = [stub respondsToSelector:@selector(port)] ? [(id<MacvmPrivate>)stub port] : 0;
    _outcome->debug_stub_port = port;
    _started = true;
    macvm_vm_started(_spec, port);
    if (_force_pending)
        [self forceStop];
    else if (_save_pending)
        [self saveAndStop];
    else if (_request_pending)
        [self requestStop];
}

/* ---- how the run ends: macvm.c decides, the run carries it out ---- */

- (void)handle:(enum stop_event)event
{
    [self perform:macvm_stop_action(_spec, _outcome, event, _phase != RUNNING)];
}

- (void)perform:(enum stop_action)action
{
    if (action == STOP_ACTION_SAVE)
        [self saveAndStop];
    else if (action == STOP_ACTION_REQUEST)
        [self requestStop];
    else if (action == STOP_ACTION_FORCE)
        [self forceStop];
}

/* Ctrl-C (bridge.h); one that comes while the screenshot is awaited acts first. */
- (void)interrupt
{
    dispatch_block_t handle = ^{
        [self handle:STOP_EVENT_INTERRUPT];
    };
    if (_phase == RUNNING)
        [self takeScreenshotThen:handle];
    else
        handle();
}

- (void)menuItem:(NSMenuItem *)item
{
    [self handle:(enum stop_event)item.tag];
}

- (BOOL)windowShouldClose:(NSWindow *)window
{
    [self handle:STOP_EVENT_QUIT];
    return NO; /* it closes once the VM has stopped */
}

/* The Dock's Quit, logout and shutdown: end the run through Quit, so macvm
 * still records it; AppKit must not exit the process under the VM. */
- (NSApplicationTerminateReply)applicationShouldTerminate:(NSApplication *)sender
{
    [self handle:STOP_EVENT_QUIT];
    return NSTerminateCancel;
}

/* Saves the display to screenshot_path when the spec asks (once per run),
 * then calls next; a picture that does not come within the time limit (a
 * bug of macOS 15.4+) or cannot be taken is reported in the outcome, never
 * waited for. */
- (void)takeScreenshotThen:(dispatch_block_t)next
{
    if (!_spec->screenshot || _screenshot_tried) {
        next();
        return;
    }
    _screenshot_tried = true;
    __block bool answered = false;
    void (^done)(NSString *) = ^(NSString *failure) {
        if (answered)
            return;   /* the time limit came first, or the picture after it */
        answered = true;
        self->_outcome->screenshot_taken = !failure;
        copy_string(self->_outcome->screenshot_failure, sizeof self->_outcome->screenshot_failure, failure);
        next();
    };
    id display = nil;
    if (@available(macOS 14, *))
        display = [[_vm.graphicsDevices.firstObject displays] firstObject];
    NSError *unavailable = nil;
    unsigned limit = _spec->screenshot_timeout_ms;
    if (_vm.state != VZVirtualMachineStateRunning && _vm.state != VZVirtualMachineStatePaused) {
        done(@"the VM had stopped before its screen could be saved");
    } else if (![display respondsToSelector:@selector(_takeScreenshotWithCompletionHandler:)]) {
        lacks(@"-[VZGraphicsDisplay _takeScreenshotWithCompletionHandler:]", &unavailable);
        done(describe(unavailable));
    } else {
        dispatch_after(dispatch_time(DISPATCH_TIME_NOW, (int64_t)limit * NSEC_PER_MSEC), dispatch_get_main_queue(), ^{
            done([NSString stringWithFormat:@"the display gave no picture within %u ms", limit]);
        });
        [(id<MacvmPrivate>)display _takeScreenshotWithCompletionHandler:^(id image, NSError *error) {
            dispatch_async(dispatch_get_main_queue(), ^{
                done(image ? write_png(image, self->_spec->screenshot_path) : describe(error) ?: @"no picture");
            });
        }];
    }
}

/* Asks the guest to shut down; kept for later while the VM cannot take the
 * request (still starting or restoring).  A guest that ignores it needs no
 * report: Force Stop remains. */
- (void)requestStop
{
    if (_phase == RUNNING)
        _phase = STOPPING;
    if (!_started || !_vm.canRequestStop) {
        _request_pending = true;
        return;
    }
    _request_pending = false;
    [_vm requestStopWithError:NULL];
}

/* Stops the VM at once; once only, and kept for later while the VM cannot
 * stop (starting, pausing or saving). */
- (void)forceStop
{
    if (_phase == FORCING)
        return;
    if (!_vm.canStop) {
        _force_pending = true;
        return;
    }
    _phase = FORCING;
    [_vm stopWithCompletionHandler:^(NSError *error) {
        if (error)
            [self note:error];
        [self finish];
    }];
}

/* Pauses, saves the state to the save file and stops; kept for later while
 * the VM is still starting.  A failed pause or save goes to macvm.c, which
 * says so and decides what comes instead: the guest's state is never thrown
 * away for a failed save. */
- (void)saveAndStop
{
    _phase = SAVING;
    if (!_started) {
        _save_pending = true;
        return;
    }
    _save_pending = false;
    if (@available(macOS 14, *)) {
        if (_vm.state != VZVirtualMachineStateRunning) {
            [self saveFailedAt:"pause" because:@"the VM was not running"];
            return;
        }
        [_vm pauseWithCompletionHandler:^(NSError *pause_error) {
            if (pause_error) {
                [self saveFailedAt:"pause" because:describe(pause_error)];
                return;
            }
            [self->_vm saveMachineStateToURL:file_url(self->_spec->save_file) completionHandler:^(NSError *error) {
                if (!error) {
                    self->_outcome->saved_state = true;
                    [self forceStop];
                    return;
                }
                [self->_vm resumeWithCompletionHandler:^(NSError *resume_error) {
                    NSString *why = describe(error);
                    if (resume_error)
                        why = [NSString stringWithFormat:@"%@; resuming failed too: %@", why, describe(resume_error)];
                    [self saveFailedAt:"save" because:why];
                }];
            }];
        }];
        return;
    }
    [self saveFailedAt:"save" because:@"saving needs macOS 14"];
}

- (void)saveFailedAt:(const char *)step because:(nullable NSString *)why
{
    _phase = STOPPING;
    bool running = _vm.state == VZVirtualMachineStateRunning;
    enum stop_action next = macvm_save_failed(_outcome, step, why.UTF8String ?: "", running);
    [self perform:_force_pending ? STOP_ACTION_FORCE : next];
}

- (void)guestDidStopVirtualMachine:(VZVirtualMachine *)vm
{
    _outcome->guest_stopped = true;
    [self finish];
}

- (void)virtualMachine:(VZVirtualMachine *)vm didStopWithError:(NSError *)error
{
    [self fail:error];
}

/* The VM runs on without its network: recorded for run.json, not an end. */
- (void)virtualMachine:(VZVirtualMachine *)vm
                 networkDevice:(VZNetworkDevice *)networkDevice
    attachmentWasDisconnectedWithError:(NSError *)error
{
    copy_string(_outcome->network_disconnected, sizeof _outcome->network_disconnected, describe(error));
}

- (void)note:(NSError *)error
{
    if (_status == BRIDGE_OK)
        _status = report(&_outcome->error, error);
}

- (void)fail:(NSError *)error
{
    [self note:error];
    [self takeScreenshotThen:^{
        [self finish];
    }];
}

- (void)finish
{
    [_window close];
    _finish();
}
@end

/* Returns the validated configuration of the installed VM *s describes, with
 * its debug stub when asked for, and says in *saves whether Virtualization can
 * save and restore it (when not, why in *unsavable); nil with *error. */
static VZVirtualMachineConfiguration *_Nullable run_configuration(const struct vm_spec *s, bool *saves,
                                                                  NSError **unsavable, NSError **error)
{
    VZMacPlatformConfiguration *platform = bundle_platform(s, error);
    VZVirtualMachineConfiguration *config = platform ? configuration_for(s, platform, error) : nil;
    if (!config || (s->debug_stub && !attach_debug_stub(config, s, error)) || ![config validateWithError:error])
        return nil;
    if (@available(macOS 14, *))
        *saves = [config validateSaveRestoreSupportWithError:unsavable];
    else
        *saves = lacks(@"saving a VM's state", unsavable);
    return config;
}

int bridge_check_configuration(const struct vm_spec *spec, bool *saves, struct bridge_error *err,
                               struct bridge_error *save_err)
{
    *saves = false;
    @autoreleasepool {
        NSError *error = nil, *unsavable = nil;
        if (!run_configuration(spec, saves, &unsavable, &error))
            return report(err, error);
        if (!*saves)
            report(save_err, unsavable);
        return BRIDGE_OK;
    }
}

int bridge_run(const struct vm_spec *spec, struct run_outcome *outcome)
{
    memset(outcome, 0, sizeof *outcome);
    @autoreleasepool {
        NSError *error = nil, *unsavable = nil;
        bool saves = false;
        VZVirtualMachineConfiguration *config = run_configuration(spec, &saves, &unsavable, &error);
        id options = nil;
        if (!config || !start_options(spec, &options, &error))
            return report(&outcome->error, error);
        /* What macvm.c predicted, Virtualization confirms: a saved state it would not take is kept, and the VM
         * not started; a run it would not save says so now, and Quit asks the guest to shut down instead. */
        if (@available(macOS 14, *))
            outcome->save_check = saves ? SAVE_CHECK_SUPPORTED : SAVE_CHECK_REFUSED;
        if (spec->restore_saved_state && !saves) {
            outcome->restore_refused = true;
            return report(&outcome->error, unsavable);
        }
        if (spec->save_possible && !saves)
            macvm_save_failed(outcome, "validation", describe(unsavable).UTF8String ?: "", true);
        /* Interrupts reach the run from the main queue, which runs only once the run has begun. */
        __block MacvmRun *run = nil;
        dispatch_block_t unwatch = watch_interrupts(^{ [run interrupt]; });
        /* NVRAM after a last look for Ctrl-C (bridge.h), and before the VM exists, which reads it. */
        VZMacAuxiliaryStorage *auxiliary = ((VZMacPlatformConfiguration *)config.platform).auxiliaryStorage;
        int status;
        if (macvm_interrupted()) {
            status = BRIDGE_INTERRUPTED;
        } else if (spec->set_boot_args && !write_boot_args(auxiliary, spec->boot_args, &error)) {
            status = report(&outcome->error, error);
        } else {
            wait_for(^(dispatch_block_t finish) {
                run = [[MacvmRun alloc] initWithSpec:spec outcome:outcome configuration:config options:options
                                              finish:finish];
            });
            status = run.status;
        }
        unwatch();
        return status;
    }
}

/* ---- identity ----------------------------------------------------------------------------------------- */

int bridge_clone_identity(const char *machine_identifier, struct bridge_error *err)
{
    @autoreleasepool {
        NSError *error = nil;
        VZMacMachineIdentifier *original = read_data_representation(VZMacMachineIdentifier.class, machine_identifier,
                                                                    @"machine identifier", &error);
        id serial = [original respondsToSelector:@selector(_serialNumber)] ? [original _serialNumber] : nil;
        SEL make = serial ? @selector(_machineIdentifierForVirtualMachineCloneWithSerialNumber:)
                          : @selector(_machineIdentifierForVirtualMachineClone);
        Class cls = VZMacMachineIdentifier.class;
        if (!original || !has_method(object_getClass(cls), make, &error))
            return report(err, error);
        /* The original's serial number stays: a clone is the same Mac, run twice. */
        VZMacMachineIdentifier *clone = serial ? [cls _machineIdentifierForVirtualMachineCloneWithSerialNumber:serial]
                                               : [cls _machineIdentifierForVirtualMachineClone];
        if (!clone)
            return report(err, macvm_error(BRIDGE_FAILED, @"Virtualization made no clone identifier"));
        if (![clone.dataRepresentation writeToFile:ns(machine_identifier) options:NSDataWritingAtomic error:&error])
            return report(err, error);
        return BRIDGE_OK;
    }
}

/* ---- installing ------------------------------------------------------------------------------------------ */

int bridge_install(const struct install_spec *spec, bridge_progress_fn progress, void *ctx, struct bridge_error *err)
{
    @autoreleasepool {
        NSError *error = nil;
        bool loaded = [loaded_path isEqualToString:ns(spec->restore_image)];
        VZMacOSConfigurationRequirements *requirements = loaded ? loaded_image.mostFeaturefulSupportedConfiguration
                                                                : nil;
        if (!loaded)
            failed(&error, @"%@ was not loaded with bridge_load_restore_image first", ns(spec->restore_image));
        else if (!requirements)
            failed(&error, @"no hardware model of %@ is supported on this host (macOS %@)", ns(spec->restore_image),
                   host_os_version());
        VZMacPlatformConfiguration *platform =
            requirements ? new_platform(&spec->vm, requirements.hardwareModel, spec->serial_number, &error) : nil;
        VZVirtualMachineConfiguration *config = platform ? configuration_for(&spec->vm, platform, &error) : nil;
        if (!config || ![config validateWithError:&error])
            return report(err, error);
        VZVirtualMachine *vm = [[VZVirtualMachine alloc] initWithConfiguration:config];
        VZMacOSInstaller *installer = [[VZMacOSInstaller alloc] initWithVirtualMachine:vm
                                                                      restoreImageURL:file_url(spec->restore_image)];
        __block NSError *failure = nil;
        bool interrupted = wait_cancellable(^(dispatch_block_t finish) {
            [installer installWithCompletionHandler:^(NSError *e) {
                failure = e;
                finish();
            }];
        }, ^(dispatch_block_t __unused finish) {
            [installer.progress cancel];
        }, ^(uint64_t *done, uint64_t *total) {
            *done = (uint64_t)(installer.progress.fractionCompleted * 1000);
            *total = 1000;
        }, progress, ctx);
        if (!failure)
            return BRIDGE_OK;
        return interrupted ? BRIDGE_INTERRUPTED : report(err, failure);
    }
}
