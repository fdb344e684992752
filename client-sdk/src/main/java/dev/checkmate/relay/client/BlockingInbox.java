package dev.checkmate.relay.client;

import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The blocking style's {@link Delivery}: frames wait here for {@link RelaySession#receive}; a frame
 * counts as delivered (acknowledged, and the next message requested) only when the application
 * takes it, so this holds at most the number of messages the session requested up front ({@code
 * receiveQueueFrames}). A peer restart is an item of its own, thrown once by the receive that
 * reaches it; the end is thrown by every receive after the last frame.
 */
final class BlockingInbox implements Delivery {
  private record End(RelayException end) {}

  private record Item(byte[] payload, Runnable delivered) {}

  private final LinkedBlockingDeque<Object> items = new LinkedBlockingDeque<>();

  @Override
  public void frame(byte[] payload, Runnable delivered) {
    items.add(new Item(payload, delivered));
  }

  @Override
  public void peerRestarted(PeerRestartedException restart) {
    items.add(restart);
  }

  @Override
  public void event(Consumer<SessionListener> event) {}

  @Override
  public void ended(RelayException end) {
    items.add(new End(end));
  }

  /** The next frame, or null after {@code nanos}; throws a restart or the end when it reaches it. */
  byte[] take(long nanos) throws InterruptedException {
    return unwrap(nanos < 0 ? items.take() : items.poll(nanos, TimeUnit.NANOSECONDS));
  }

  /** {@link RelaySession#frames()}: ends normally at a TERMINATED end, throws any other. */
  Stream<byte[]> frames() {
    Spliterator<byte[]> spliterator =
        new Spliterators.AbstractSpliterator<byte[]>(Long.MAX_VALUE, Spliterator.ORDERED | Spliterator.NONNULL) {
          @Override
          public boolean tryAdvance(Consumer<? super byte[]> action) {
            try {
              action.accept(take(-1));
              return true;
            } catch (SessionEndedException e) {
              if (e.endReason() == EndReason.TERMINATED) {
                return false;
              }
              throw e;
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new RelayException(StatusCode.CANCELLED, "interrupted while receiving", e);
            }
          }
        };
    return StreamSupport.stream(spliterator, false);
  }

  /** Frames and markers waiting. */
  int size() {
    return items.size();
  }

  private byte[] unwrap(Object item) {
    if (item == null) {
      return null;
    }
    if (item instanceof End e) {
      items.addFirst(e); // stays there for the next reader
      throw e.end();
    }
    if (item instanceof PeerRestartedException r) {
      throw r;
    }
    Item frame = (Item) item;
    frame.delivered().run();
    return frame.payload();
  }
}
