#!/usr/bin/env python3
"""What a user would write instead of `macvm ipsw FILE`: zipfile + plistlib.

Reads BuildManifest.plist from the IPSW and prints the same facts macvm shows:
product version, build, supported product types and the VM identity's minimums.
"""
import json
import plistlib
import sys
import zipfile


def main(path):
    with zipfile.ZipFile(path) as z:
        m = plistlib.loads(z.read("BuildManifest.plist"))
    out = {
        "product_version": m.get("ProductVersion"),
        "build": m.get("ProductBuildVersion"),
        "supported_product_types": m.get("SupportedProductTypes", []),
        "vm": None,
    }
    for ident in m.get("BuildIdentities", []):
        info = ident.get("Info", {})
        if info.get("DeviceClass") == "vma2macosap":
            out["vm"] = {
                "min_host_os": info.get("VirtualMachineMinHostOS"),
                "min_cpu_count": info.get("VirtualMachineMinCPUCount"),
                "min_memory_mb": info.get("VirtualMachineMinMemorySizeMB"),
                "mobile_device_min_version": info.get("MobileDeviceMinVersion"),
            }
            break
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0 if out["product_version"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
