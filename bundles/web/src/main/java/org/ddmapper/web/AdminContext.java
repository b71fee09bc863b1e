package org.ddmapper.web;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.file.Path;
import org.ddmapper.web.internal.BasicAuth;
import org.ddmapper.web.internal.Credentials;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.servlet.context.ServletContextHelper;
import org.osgi.service.servlet.whiteboard.HttpWhiteboardConstants;
import org.tinylog.Logger;

/**
 * The servlet context every page of ours lives in ({@value #NAME}): no request gets through
 * without a user and password of the users file ({@link Credentials}); others are answered 401
 * with a Basic challenge. On first boot it generates the user {@code admin} with a random password
 * and prints it once on stderr.
 */
@Component(service = ServletContextHelper.class, property = {
        HttpWhiteboardConstants.HTTP_WHITEBOARD_CONTEXT_NAME + "=" + AdminContext.NAME,
        HttpWhiteboardConstants.HTTP_WHITEBOARD_CONTEXT_PATH + "=/"})
public final class AdminContext extends ServletContextHelper {
    public static final String NAME = "ddmapper";
    /** The selector a servlet of ours registers with. */
    public static final String SELECT = "(" + HttpWhiteboardConstants.HTTP_WHITEBOARD_CONTEXT_NAME + "=" + NAME + ")";
    static final String REALM = "ddmapper";

    private final Credentials credentials;

    @Activate
    public AdminContext(BundleContext context) throws IOException {
        String home = context.getProperty("ddmapper.home");
        String etc = context.getProperty("ddmapper.etc");
        if (home == null) throw new IOException("ddmapper.home is not set: no place for the web users file");
        Credentials.Loaded loaded = Credentials.load(etc == null ? null : Path.of(etc), Path.of(home));
        this.credentials = loaded.credentials();
        if (loaded.generatedPassword() != null) {
            System.err.println("ddmapper: web administration: user " + Credentials.USER + ", password " + loaded.generatedPassword()
                    + " (generated now and shown once; its hash is in " + credentials.source() + ")");
            System.err.flush();
        }
        Logger.info("web administration users from {}", credentials.source());
    }

    @Override
    public boolean handleSecurity(HttpServletRequest request, HttpServletResponse response) throws IOException {
        BasicAuth.Login login = BasicAuth.parse(request.getHeader("Authorization"));
        if (login != null && credentials.check(login.user(), login.password())) {
            request.setAttribute(REMOTE_USER, login.user());
            request.setAttribute(AUTHENTICATION_TYPE, "Basic");
            return true;
        }
        response.setHeader("WWW-Authenticate", "Basic realm=\"" + REALM + "\", charset=\"UTF-8\"");
        response.sendError(HttpServletResponse.SC_UNAUTHORIZED, login == null ? "authentication required" : "wrong user or password");
        return false;
    }
}
