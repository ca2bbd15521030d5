using System.CommandLine;
using EdgeEvents.Camera;

namespace EdgeEvents.Cli.Commands;

/// <summary><c>edge-events camera</c>: publish images as frames.</summary>
public static class CameraCommand
{
    public static Command Create()
    {
        var defaults = new CameraOptions();
        var id = new Option<string>("--camera", "--id") { Description = "Camera id" + HelpDefault.Of(defaults.Id) };
        var source = new Option<string>("--source")
        {
            Description = "Folder of images, one image file, or 'synthetic' " +
                "[default: ../shared/samples if found, else synthetic]",
        };
        var fps = new Option<double>("--fps") { Description = "Frames per second" + HelpDefault.Of(defaults.Fps) };
        var repeat = new Option<int>("--repeat-each")
        {
            Description = "Publish each image this many times in a row" + HelpDefault.Of(defaults.RepeatEach),
        };
        var count = new Option<long>("--count")
        {
            Description = "Stop after this many frames; 0 = never" + HelpDefault.Of(defaults.MaxFrames),
        };
        var loop = new Option<bool>("--loop")
        {
            Description = "Start again after the last image; --loop false publishes each once" +
                HelpDefault.Of(defaults.Loop),
        };
        var payload = new Option<FramePayloadKind>("--payload")
        {
            Description = "Envelope (MessagePack Frame) or Bare (the JPEG/PNG bytes)" +
                HelpDefault.Of(defaults.Payload),
        };
        return HostedCommand.Create("camera", "Publish frames from images or a synthetic generator at a fixed rate.",
            [
                new(id, "Camera:Id"), new(source, "Camera:Source"), new(fps, "Camera:Fps"),
                new(count, "Camera:MaxFrames"), new(repeat, "Camera:RepeatEach"),
                new(payload, "Camera:Payload"), new(loop, "Camera:Loop"),
            ],
            builder => builder.Services.AddCameraWorker(builder.Configuration));
    }
}
