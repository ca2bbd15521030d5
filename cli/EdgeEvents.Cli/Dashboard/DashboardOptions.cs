namespace EdgeEvents.Cli.Dashboard;

/// <summary>The dashboard page's web server. Bound from configuration section <c>Dashboard</c>.</summary>
public sealed record DashboardOptions
{
    public const string Section = "Dashboard";

    /// <summary>HTTP port serving the page; 0 picks a free port (printed at start). Default 8080.</summary>
    public int HttpPort { get; init; } = 8080;
    /// <summary>Address to listen on. Default <c>127.0.0.1</c>; use <c>0.0.0.0</c> to serve other machines.</summary>
    public string BindAddress { get; init; } = "127.0.0.1";
    /// <summary>
    /// MQTT-over-WebSockets URL the page connects to (the embedded broker's <c>--ws-port</c>, or mosquitto's
    /// <c>listener 9001</c> + <c>protocol websockets</c>). The browser connects to it, so name a host the browser can
    /// reach. Ignored with <see cref="RelayPort"/>. Default <c>ws://127.0.0.1:9001/mqtt</c>.
    /// </summary>
    public string BrokerWebSocket { get; init; } = "ws://127.0.0.1:9001/mqtt";
    /// <summary>
    /// For a hub without MQTT over WebSockets (NATS, or an MQTT broker without a WebSocket listener): the dashboard
    /// connects to the <c>Transport</c> broker itself and serves the page MQTT over WebSockets on this port (path
    /// <c>/mqtt</c>, on <see cref="BindAddress"/>), relaying what the page shows and the questions it asks. 0 picks a
    /// free port. Default null: off, the page connects to <see cref="BrokerWebSocket"/>.
    /// </summary>
    public int? RelayPort { get; init; }
    /// <summary>Topic prefix the page subscribes under. Default <c>edge</c>.</summary>
    public string Prefix { get; init; } = "edge";
    /// <summary>
    /// Fleet view, for a page pointed at a hub: every site (state from <c>fleet/sites/+</c>), their cameras as
    /// <c>{site}/{camera}</c>, one event feed with the site on each row, and questions to a chosen site. Default false.
    /// </summary>
    public bool Fleet { get; init; }
}
