// A consumer written as a Java integrator writes one: the JDK's own HTTP clients, configured
// only by the javax.net.ssl.* system properties given on the command line.
//
//   java -Djavax.net.ssl.keyStore=consumer.p12 -Djavax.net.ssl.keyStorePassword=changeit \
//        -Djavax.net.ssl.trustStore=truststore.p12 -Djavax.net.ssl.trustStorePassword=changeit \
//        Main.java httpclient|urlconnection URL REQUEST.xml
//
// Prints "STATUS <code>" and the answer's body, or "EXCEPTION <exception>" and each cause
// ("CAUSED BY ...") and exits 1: what a user would see in a stack trace.

import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.HttpsURLConnection;

public class Main {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String url = args[1];
        byte[] body = Files.readAllBytes(Path.of(args[2]));
        try {
            if (mode.equals("httpclient")) {
                HttpClient client = HttpClient.newBuilder()
                        .connectTimeout(Duration.ofSeconds(30))
                        .build();
                HttpRequest request = HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(60))
                        .header("Content-Type", "text/xml; charset=UTF-8")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                        .build();
                HttpResponse<String> response =
                        client.send(request, HttpResponse.BodyHandlers.ofString());
                System.out.println("STATUS " + response.statusCode());
                System.out.println(response.body());
            } else {
                HttpsURLConnection connection =
                        (HttpsURLConnection) URI.create(url).toURL().openConnection();
                connection.setConnectTimeout(30_000);
                connection.setReadTimeout(60_000);
                connection.setRequestMethod("POST");
                connection.setDoOutput(true);
                connection.setRequestProperty("Content-Type", "text/xml; charset=UTF-8");
                try (OutputStream out = connection.getOutputStream()) {
                    out.write(body);
                }
                int status = connection.getResponseCode();
                InputStream in = status < 400 ? connection.getInputStream() : connection.getErrorStream();
                System.out.println("STATUS " + status);
                System.out.println(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
        } catch (Exception e) {
            System.out.println("EXCEPTION " + e);
            for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
                System.out.println("CAUSED BY " + cause);
            }
            System.exit(1);
        }
    }
}
