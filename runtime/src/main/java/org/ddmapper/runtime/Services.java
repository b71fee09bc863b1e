package org.ddmapper.runtime;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * Calls on services whose types live in bundles. The launcher sits on the class path, outside every
 * bundle: it cannot link against {@code org.ddmapper.api.Endpoint} or Gogo's {@code CommandProcessor}
 * without putting a second copy of those packages beside the bundles' (OSGI-NOTES: two copies break
 * services), so it calls them through the interface the service object implements.
 */
final class Services {

    private Services() {
    }

    /** Calls {@code interfaceName.method(args)} on {@code service}; a failure of the call itself is rethrown. */
    static Object call(Object service, String interfaceName, String method, Class<?>[] parameterTypes, Object... args)
            throws Exception {
        Class<?> type = findInterface(service.getClass(), interfaceName);
        if (type == null) {
            throw new IllegalArgumentException(service.getClass().getName() + " does not implement " + interfaceName);
        }
        Method m = type.getMethod(method, parameterTypes);
        try {
            return m.invoke(service, args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw cause instanceof Exception ex ? ex : new RuntimeException(cause);
        }
    }

    static Object call(Object service, String interfaceName, String method) throws Exception {
        return call(service, interfaceName, method, new Class<?>[0]);
    }

    private static Class<?> findInterface(Class<?> type, String name) {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            if (c.getName().equals(name)) {
                return c;
            }
            for (Class<?> i : c.getInterfaces()) {
                Class<?> found = findInterface(i, name);
                if (found != null) {
                    return found;
                }
            }
        }
        return null;
    }
}
