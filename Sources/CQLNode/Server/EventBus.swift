import CQLCodec
import NIOConcurrencyHelpers

/// Delivers server EVENTs (schema, topology, status changes) to the connections that asked
/// for them with REGISTER.
///
/// The server owns one bus and hands it to the ``QueryHandler`` in every ``RequestContext``;
/// the executor publishes a schema change after applying DDL. Delivery is asynchronous: each
/// connection writes the EVENT on stream -1 from its own event loop.
final class EventBus: Sendable {
    /// One registered connection: the event types it asked for and how to reach it.
    struct Subscriber: Sendable {
        var eventTypes: Set<String>
        var deliver: @Sendable (Event) -> Void
    }

    private let subscribers = NIOLockedValueBox<[ObjectIdentifier: Subscriber]>([:])

    /// An empty bus.
    init() {}

    /// Sends `event` to every connection registered for its type; returns how many it was sent to.
    @discardableResult
    func publish(_ event: Event) -> Int {
        let targets = subscribers.withLockedValue { all in
            all.values.filter { $0.eventTypes.contains(event.eventType) }.map(\.deliver)
        }
        for deliver in targets { deliver(event) }
        return targets.count
    }

    /// How many connections are registered for `eventType`.
    func subscriberCount(for eventType: String) -> Int {
        subscribers.withLockedValue { all in all.values.filter { $0.eventTypes.contains(eventType) }.count }
    }

    /// Adds event types to a connection's registration (a second REGISTER extends the first, as in Cassandra).
    func register(_ key: ObjectIdentifier, eventTypes: Set<String>, deliver: @escaping @Sendable (Event) -> Void) {
        subscribers.withLockedValue { all in
            if var existing = all[key] {
                existing.eventTypes.formUnion(eventTypes)
                all[key] = existing
            } else {
                all[key] = Subscriber(eventTypes: eventTypes, deliver: deliver)
            }
        }
    }

    /// Forgets a connection (it closed).
    func unregister(_ key: ObjectIdentifier) {
        _ = subscribers.withLockedValue { $0.removeValue(forKey: key) }
    }
}
