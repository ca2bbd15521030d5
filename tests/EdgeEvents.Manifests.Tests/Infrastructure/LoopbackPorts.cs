using EdgeEvents.Testing;

namespace EdgeEvents.Manifests.Tests.Infrastructure;

/// <summary>
/// Free loopback ports, never the same one twice in a test run: FreePort closes its probe listener, so two quick calls
/// can get the same port back, and two processes of one test would then fight over it.
/// </summary>
public static class LoopbackPorts
{
    private static readonly HashSet<int> Given = [];

    public static int Next()
    {
        lock (Given)
        {
            while (true)
            {
                var port = FreePort.Next();
                if (Given.Add(port)) return port;
            }
        }
    }
}
