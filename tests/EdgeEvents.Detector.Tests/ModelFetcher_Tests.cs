using System.Net;
using System.Security.Cryptography;
using EdgeEvents.Detector.Rollout;
using EdgeEvents.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace EdgeEvents.Detector.Tests;

/// <summary>Model downloads over http: resumed with a Range request, kept only with the right SHA-256.</summary>
public sealed class ModelFetcher_Tests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fetch-").FullName;
    private readonly byte[] _model = RandomNumberGenerator.GetBytes(200_000);
    private readonly List<string?> _ranges = [];
    private readonly HttpListener _server = new();
    private readonly string _url;

    public ModelFetcher_Tests()
    {
        _url = $"http://127.0.0.1:{FreePort.Next()}/";
        _server.Prefixes.Add(_url);
        _server.Start();
        _ = ServeAsync();
    }

    public void Dispose()
    {
        _server.Close();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_cut_download_resumes_from_where_it_stopped()
    {
        var request = Request(Convert.ToHexStringLower(SHA256.HashData(_model)));
        using var http = new HttpClient();
        var fetcher = new ModelFetcher(_folder, http, NullLogger.Instance);
        Directory.CreateDirectory(fetcher.ModelsFolder);
        File.WriteAllBytes(fetcher.PathOf(request) + ".part", _model[..120_000]);

        var path = await fetcher.FetchAsync(request, CancellationToken.None);

        Assert.Equal(["bytes=120000-"], _ranges);
        Assert.Equal(_model, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".part"));
    }

    [Fact]
    public async Task A_download_with_the_wrong_checksum_is_rejected_and_its_part_deleted()
    {
        var request = Request(new string('a', 64));
        using var http = new HttpClient();
        var fetcher = new ModelFetcher(_folder, http, NullLogger.Instance);

        var error = await Assert.ThrowsAsync<ModelRejectedException>(() => fetcher.FetchAsync(request, CancellationToken.None));

        Assert.Contains("SHA-256", error.Message);
        Assert.Equal([null], _ranges);
        Assert.Empty(Directory.GetFiles(fetcher.ModelsFolder));
    }

    private ModelRequest Request(string sha256) => new() { Version = "v2", Uri = _url + "model.onnx", Sha256 = sha256 };

    /// <summary>Serves the model, honouring <c>Range: bytes=N-</c> with a 206 as a real file server would.</summary>
    private async Task ServeAsync()
    {
        while (_server.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _server.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            var range = context.Request.Headers["Range"];
            lock (_ranges) _ranges.Add(range);
            var from = range is null ? 0 : int.Parse(range["bytes=".Length..].TrimEnd('-'));
            if (range is not null)
            {
                context.Response.StatusCode = 206;
                context.Response.AddHeader("Content-Range", $"bytes {from}-{_model.Length - 1}/{_model.Length}");
            }
            context.Response.ContentLength64 = _model.Length - from;
            await context.Response.OutputStream.WriteAsync(_model.AsMemory(from));
            context.Response.Close();
        }
    }
}
