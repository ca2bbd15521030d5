namespace EdgeEvents.Detector.Rollout;

/// <summary>A requested model cannot be used; the message is the reason published in the status.</summary>
public sealed class ModelRejectedException(string message, Exception? inner = null) : Exception(message, inner);
