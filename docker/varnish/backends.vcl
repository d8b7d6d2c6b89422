# The origin pair behind this edge: the compose services (docker/compose.yaml). Only these two
# backends belong here; the health probe is the `default` probe of origin.vcl.
backend origin_a {
    .host = "origin-a";
    .port = "8080";
}

backend origin_b {
    .host = "origin-b";
    .port = "8080";
}
