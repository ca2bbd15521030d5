namespace EdgeEvents.Pipeline.Transport;

public enum BrokerProtocol { Mqtt, Nats }

/// <summary>A parsed <c>--broker</c> URL.</summary>
public sealed record BrokerAddress(BrokerProtocol Protocol, string Host, int Port, bool Tls)
{
    public static BrokerAddress Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new FormatException(
                $"Broker '{url}' is not a URL; use mqtt://host:port, mqtts://host:port or nats://host:port.");
        }
        return uri.Scheme switch
        {
            "mqtt" or "tcp" => new(BrokerProtocol.Mqtt, uri.Host, uri.IsDefaultPort ? 1883 : uri.Port, false),
            "mqtts" or "ssl" => new(BrokerProtocol.Mqtt, uri.Host, uri.IsDefaultPort ? 8883 : uri.Port, true),
            "nats" => new(BrokerProtocol.Nats, uri.Host, uri.IsDefaultPort ? 4222 : uri.Port, false),
            "tls" or "natss" => new(BrokerProtocol.Nats, uri.Host, uri.IsDefaultPort ? 4222 : uri.Port, true),
            _ => throw new FormatException($"Broker scheme '{uri.Scheme}' is not supported; use mqtt, mqtts or nats."),
        };
    }

    public bool IsLoopback =>
        Host is "localhost" || (System.Net.IPAddress.TryParse(Host, out var ip) && System.Net.IPAddress.IsLoopback(ip));

    public override string ToString() => $"{Protocol.ToString().ToLowerInvariant()}{(Tls ? "s" : "")}://{Host}:{Port}";
}
