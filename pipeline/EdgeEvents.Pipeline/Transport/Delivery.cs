namespace EdgeEvents.Pipeline.Transport;

/// <summary>
/// Delivery guarantee on the wire. Frames use <see cref="AtMostOnce"/>; events, questions and answers
/// <see cref="AtLeastOnce"/>.
/// </summary>
public enum Delivery { AtMostOnce = 0, AtLeastOnce = 1 }

/// <summary>What a subscription does when its bounded channel is full.</summary>
public enum OverloadPolicy
{
    /// <summary>
    /// Hold the transport until there is room (back-pressure to the broker). For messages that must not be lost.
    /// </summary>
    Wait,
    /// <summary>Drop the oldest waiting message and count it. For frames: latest wins.</summary>
    DropOldest,
    /// <summary>Drop the incoming message and count it.</summary>
    DropNewest,
}
