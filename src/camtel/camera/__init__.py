"""Wi-Fi dash cams: the Novatek-family HTTP API client and `camtel camera sync`."""
