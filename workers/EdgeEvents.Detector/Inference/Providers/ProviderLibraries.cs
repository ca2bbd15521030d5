using System.Runtime.InteropServices;

namespace EdgeEvents.Detector.Inference.Providers;

/// <summary>
/// The native libraries ONNX Runtime 1.31's CUDA and TensorRT providers load (CUDA 13, cuDNN 9, TensorRT 10), probed
/// before the provider is asked for: ONNX Runtime itself prints "Failed to load library" errors when one is missing,
/// which a CPU-only machine would show at every start.
/// </summary>
internal static class ProviderLibraries
{
    private static readonly string[] Cuda =
        ["libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudnn.so.9"];
    private static readonly string[] TensorRt =
        ["libcudart.so.13", "libcublas.so.13", "libcudnn.so.9", "libnvinfer.so.10", "libnvonnxparser.so.10"];

    /// <summary>
    /// The libraries a provider (<c>CUDA</c> or <c>TensorRT</c>) needs, in the order they are probed.
    /// </summary>
    public static IReadOnlyList<string> For(string provider) => provider == "TensorRT" ? TensorRt : Cuda;

    /// <summary>The first library of <paramref name="provider"/> that does not load, or null when all do.</summary>
    public static string? FirstMissing(string provider)
    {
        foreach (var name in For(provider))
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) return name;
            // ONNX Runtime loads it again itself; this handle only proved it is there.
            NativeLibrary.Free(handle);
        }
        return null;
    }
}
