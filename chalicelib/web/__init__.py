"""The web pages: static HTML and ES modules served by the app, with their headers and QR sheet."""
