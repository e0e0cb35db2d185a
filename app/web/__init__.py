"""Web blueprints: thin views that translate HTTP into calls on the domain modules."""
