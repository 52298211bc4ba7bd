"""The composer: typing, attachments (images, PDF pages), the context meter, quick actions."""
