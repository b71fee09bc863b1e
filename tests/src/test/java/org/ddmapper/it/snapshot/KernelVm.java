package org.ddmapper.it.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.it.support.Peers;

/**
 * The real kernel as an oracle: tests/kernel/kdm-vm.sh boots Debian's kernel with dm-snapshot
 * under qemu and runs a guest script over raw disk images (read its header). One boot costs
 * about 5 s on a quiet machine, a minute under load: batch checks into one boot.
 */
final class KernelVm {
    private KernelVm() {}

    /** Runs {@code script} in the guest with {@code files} under /kdm/files and {@code disks} as /dev/vda...; returns its output. */
    static String run(String script, List<Path> files, List<Path> disks) throws Exception {
        Peers.require("qemu-system-x86_64");
        Peers.require("cpio");
        Path vm = Path.of(System.getProperty("user.dir")).resolve("kernel/kdm-vm.sh");
        Path guest = Files.createTempFile("ddmapper-kdm", ".sh");
        try {
            Files.writeString(guest, script);
            List<String> cmd = new ArrayList<>(List.of("bash", vm.toString(), "-t", "900"));
            for (Path f : files) {
                cmd.add("-f");
                cmd.add(f.toString());
            }
            cmd.add(guest.toString());
            for (Path d : disks) cmd.add(d.toString());
            Peers.Result r = Peers.run(960, cmd.toArray(String[]::new));
            assertEquals(0, r.exit(), "the kernel VM failed:\n" + r.output());
            return r.output();
        } finally {
            Files.deleteIfExists(guest);
        }
    }
}
