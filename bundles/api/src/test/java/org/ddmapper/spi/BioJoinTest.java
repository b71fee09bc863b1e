package org.ddmapper.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.ddmapper.api.Bio;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.testkit.Completion;
import org.junit.jupiter.api.Test;

class BioJoinTest {

    @Test
    void completesTheParentOnceAfterTheLastPart() {
        Completion parent = new Completion();
        BioJoin join = new BioJoin(Bio.flush(parent), 3);
        join.accept(IoStatus.OK);
        join.accept(IoStatus.OK);
        assertFalse(parent.isDone());
        join.accept(IoStatus.OK);
        assertEquals(IoStatus.OK, parent.get());
        assertEquals(1, parent.calls());
    }

    @Test
    void theFirstErrorWinsOverLaterErrorsAndRequeues() {
        Completion parent = new Completion();
        BioJoin join = new BioJoin(Bio.flush(parent), 4);
        join.accept(IoStatus.REQUEUE);
        join.accept(IoStatus.error(Errno.EIO, "stripe 1"));
        join.accept(IoStatus.error(Errno.ENOSPC, "stripe 2"));
        join.accept(IoStatus.OK);
        assertEquals(IoStatus.error(Errno.EIO, "stripe 1"), parent.get());
    }

    @Test
    void aRequeueWithoutErrorsRequeues() {
        Completion parent = new Completion();
        BioJoin join = new BioJoin(Bio.flush(parent), 2);
        join.accept(IoStatus.OK);
        join.accept(IoStatus.REQUEUE);
        assertEquals(IoStatus.REQUEUE, parent.get());
    }

    @Test
    void refusesZeroParts() {
        assertThrows(IllegalArgumentException.class, () -> new BioJoin(Bio.flush(s -> { }), 0));
    }
}
