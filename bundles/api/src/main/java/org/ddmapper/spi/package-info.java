/**
 * The contract for target, block-device-provider and path-checker authors.
 *
 * <h2>A target's life</h2>
 * <pre>
 *   load ──► TargetType.create(ctx, args)      parse and check arguments, open devices (through args);
 *            │                                 no on-disk state is read here
 *            ▼
 *          [inactive slot] ── clear / replaced ──► destroy()
 *            │ resume
 *            ▼
 *   old live table: presuspend(noflush) ─► (in-flight I/O drains) ─► postsuspend()
 *   new table:      preresume()  may veto the resume by throwing; read on-disk state here
 *                   ── swap ──► resume()
 *   old table:      destroy()
 *            ▼
 *          [live slot]  map(bio) for every request in its range; status(INFO|TABLE); message(...)
 * </pre>
 *
 * <p>A target sees sectors relative to its own start. {@code map} must eventually complete the
 * request: itself, by submitting it (or children of it) to a device, or with
 * {@link org.ddmapper.api.IoStatus#REQUEUE} to hand it back to the core. On a noflush suspend, a
 * target that queues I/O (multipath without a path) completes what it holds with REQUEUE in
 * {@code presuspend(true)}; the core keeps those requests and replays them on the next table.
 *
 * <p><b>End of I/O.</b> There is no separate {@code endIo} hook: a target that must see a request's
 * outcome (count errors, retry on another path, fail a path, copy read data) submits a child
 * whose completion it wraps — {@link org.ddmapper.api.Bio#withCompletion},
 * {@link org.ddmapper.api.Bio#slice} or {@link org.ddmapper.spi.BioJoin} — and completes the
 * original from there, with the final status or after resubmitting. That completion is the
 * kernel's {@code end_io}: it runs once, on any thread, and must not block.
 *
 * <p><b>Devices.</b> A target's devices are those it opened through {@link TableArgs}, those it
 * opened later through {@link TargetContext#openDevice} / {@link TargetContext#adoptSocket} and has
 * not closed, and whatever {@link Target#devices()} adds; {@code deps}, stacking order and cycle
 * checks use all of them.
 *
 * <p>Target types, block-device providers and path checkers are OSGi services (Declarative
 * Services components); the core collects them as they come and go.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.4.0")
package org.ddmapper.spi;
