package dev.loupe.tensor;

import dev.loupe.tensor.cpu.CpuBackend;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The backend serving each device: the CPU one is built in; others register when their module loads. */
public final class Backends {
    private static final Map<Device, Backend> BACKENDS = new ConcurrentHashMap<>();

    static {
        BACKENDS.put(Device.CPU, new CpuBackend());
    }

    private Backends() {
    }

    /** Makes {@code backend} serve its device from now on, replacing any earlier one. */
    public static void register(Backend backend) {
        BACKENDS.put(backend.device(), backend);
    }

    /** The backend for {@code device}, or an exception saying that no backend serves it. */
    public static Backend of(Device device) {
        Backend b = BACKENDS.get(device);
        if (b == null) {
            throw new IllegalStateException("no backend serves device " + device
                    + (device.kind() == Device.Kind.CUDA ? " (the CUDA backend is in the kernels module)" : ""));
        }
        return b;
    }
}
