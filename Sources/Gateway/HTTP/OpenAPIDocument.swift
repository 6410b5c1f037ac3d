/// Placeholder until the document lands.
enum OpenAPIDocument {
    static let json = #"""
        {"openapi": "3.1.0", "info": {"title": "broker", "version": "0.9.0"}, "paths": {}}
        """#
}
