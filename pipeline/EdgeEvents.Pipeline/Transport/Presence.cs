namespace EdgeEvents.Pipeline.Transport;

/// <summary>
/// Where a transport announces its connection: <see cref="Online"/> retained after every connect, <see cref="Offline"/>
/// on a clean close and (MQTT) as the last will the broker publishes when the link dies. The default is
/// <c>{prefix}/status/{component}</c> with <c>online</c>/<c>offline</c>; the built-in bridge announces its hub link on
/// <c>sites/{site}/link</c> with <c>1</c>/<c>0</c>, as mosquitto's bridge notifications do.
/// </summary>
public sealed record Presence(string Topic, string Online, string Offline);
