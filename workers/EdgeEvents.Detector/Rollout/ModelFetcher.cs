using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace EdgeEvents.Detector.Rollout;

/// <summary>
/// Brings a requested model into <c>{DataPath}/models/</c> as <c>{version}-{sha256 prefix}.onnx</c>: copied from a
/// path, or downloaded over http(s) into a <c>.part</c> file that a later attempt resumes with a <c>Range</c> request.
/// The file only takes its final name once its SHA-256 matches, so a running model's file is never written.
/// </summary>
public sealed class ModelFetcher(string dataPath, HttpClient http, ILogger logger)
{
    public string ModelsFolder { get; } = Path.Combine(dataPath, "models");

    public string PathOf(ModelRequest request) =>
        Path.Combine(ModelsFolder, $"{request.Version}-{request.Sha256[..12]}.onnx");

    /// <summary>The verified file of <paramref name="request"/>.</summary>
    /// <exception cref="ModelRejectedException">It cannot be fetched or its checksum does not match.</exception>
    public async Task<string> FetchAsync(ModelRequest request, CancellationToken ct)
    {
        Directory.CreateDirectory(ModelsFolder);
        var target = PathOf(request);
        if (File.Exists(target) && await Sha256Async(target, ct) == request.Sha256) return target;
        var part = target + ".part";
        try
        {
            if (IsHttp(request.Uri, out var url)) await DownloadAsync(url, part, ct);
            else await CopyAsync(request.Uri, part, ct);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or UnauthorizedAccessException)
        {
            throw new ModelRejectedException($"Fetching {request.Uri} failed: {ex.Message}", ex);
        }
        var actual = await Sha256Async(part, ct);
        if (actual != request.Sha256)
        {
            File.Delete(part); // a resumed download that went wrong must start over
            throw new ModelRejectedException($"SHA-256 of {request.Uri} is {actual}, not {request.Sha256}.");
        }
        File.Move(part, target, overwrite: true);
        return target;
    }

    /// <summary>Deletes model files other than <paramref name="keep"/> (the active and previous ones).</summary>
    public void DeleteAllBut(IEnumerable<string?> keep)
    {
        if (!Directory.Exists(ModelsFolder)) return;
        var kept = keep.OfType<string>().Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(ModelsFolder))
        {
            if (!kept.Contains(Path.GetFullPath(file)) && !file.EndsWith(".part", StringComparison.Ordinal))
                File.Delete(file);
        }
    }

    private static bool IsHttp(string uri, out Uri url) =>
        System.Uri.TryCreate(uri, UriKind.Absolute, out url!)
        && (url.Scheme == System.Uri.UriSchemeHttp || url.Scheme == System.Uri.UriSchemeHttps);

    private static async Task CopyAsync(string source, string part, CancellationToken ct)
    {
        var path = source.StartsWith("file://", StringComparison.Ordinal) ? new Uri(source).LocalPath : source;
        await using var input = File.OpenRead(path);
        await using var output = File.Create(part);
        await input.CopyToAsync(output, ct);
    }

    private async Task DownloadAsync(Uri url, string part, CancellationToken ct)
    {
        var have = File.Exists(part) ? new FileInfo(part).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The part file is already whole (or longer than the file): the checksum decides.
            logger.LogInformation("Download of {Url}: server has no bytes after {Bytes}", url, have);
            return;
        }
        response.EnsureSuccessStatusCode();
        var resume = response.StatusCode == HttpStatusCode.PartialContent;
        if (have > 0)
        {
            logger.LogInformation("Download of {Url} {How} at byte {Bytes}",
                url, resume ? "resumed" : "restarted (no range support)", resume ? have : 0);
        }
        await using var output = new FileStream(part, resume ? FileMode.Append : FileMode.Create, FileAccess.Write);
        await using var input = await response.Content.ReadAsStreamAsync(ct);
        await input.CopyToAsync(output, ct);
    }

    public static async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
    }
}
