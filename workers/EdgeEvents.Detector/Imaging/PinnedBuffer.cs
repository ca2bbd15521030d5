namespace EdgeEvents.Detector.Imaging;

/// <summary>Working buffers that are allocated once and grow only when a larger image arrives.</summary>
internal static class PinnedBuffer
{
    public static void EnsureCapacity<T>(ref T[] buffer, long length)
    {
        if (buffer.LongLength >= length) return;
        // Pinned: decoders write into these buffers through pointers.
        buffer = GC.AllocateUninitializedArray<T>(checked((int)length), pinned: true);
    }
}
