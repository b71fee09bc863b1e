package org.ddmapper.api;

/**
 * Which device a verb is for: by its current name, or by the identity of one device instance
 * (a device's id is never reused, so a reference by id cannot reach a device that was removed
 * and created again under the same name).
 */
public sealed interface DeviceRef {

    record Named(String name) implements DeviceRef {
        public Named {
            if (name == null) throw new IllegalArgumentException("device name");
        }

        @Override
        public String toString() { return name; }
    }

    record Instance(long id) implements DeviceRef {
        @Override
        public String toString() { return "#" + id; }
    }

    static DeviceRef of(String name) { return new Named(name); }

    static DeviceRef id(long id) { return new Instance(id); }
}
