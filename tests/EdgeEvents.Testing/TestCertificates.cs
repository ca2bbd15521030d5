using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EdgeEvents.Testing;

/// <summary>
/// A throwaway CA, a server certificate it signs (for 127.0.0.1 and localhost) and an unrelated second CA, made at
/// test time and written as PEM files to a temp folder that is deleted on dispose. No key is ever committed.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string folder) => Folder = folder;

    public string Folder { get; }
    public string CaFile => Path.Combine(Folder, "ca.pem");
    public string ServerCertificateFile => Path.Combine(Folder, "server.pem");
    public string ServerKeyFile => Path.Combine(Folder, "server.key");
    /// <summary>A CA that signed nothing here: trusting it instead of the real one must fail.</summary>
    public string OtherCaFile => Path.Combine(Folder, "other-ca.pem");

    public static TestCertificates Create()
    {
        var folder = Directory.CreateTempSubdirectory("edge-certs-").FullName;
        // mosquitto drops to its own user when started as root; it must be able to read these.
        File.SetUnixFileMode(folder, (UnixFileMode)0x1ED);
        var certificates = new TestCertificates(folder);
        using var ca = CreateCa("EdgeEvents test CA");
        using var other = CreateCa("Unrelated test CA");
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        // The CAs live two days, the server certificate one: a child may not outlive its issuer.
        using var server = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1),
            RandomNumberGenerator.GetBytes(8));
        File.WriteAllText(certificates.CaFile, ca.ExportCertificatePem());
        File.WriteAllText(certificates.OtherCaFile, other.ExportCertificatePem());
        File.WriteAllText(certificates.ServerCertificateFile, server.ExportCertificatePem());
        File.WriteAllText(certificates.ServerKeyFile, serverKey.ExportPkcs8PrivateKeyPem());
        return certificates;
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(
            new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddDays(2));
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
