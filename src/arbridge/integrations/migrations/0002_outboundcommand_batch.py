# Written by hand from makemigrations' output, holding only the outbox's batch
# fields, while other models of this app were being changed beside it.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundcommand",
            name="batch_key",
            field=models.CharField(blank=True, db_index=True, max_length=50),
        ),
        migrations.AddField(
            model_name="outboundcommand",
            name="batched_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="outboundcommand",
            index=models.Index(
                fields=["connection", "batched_at"], name="integration_connect_1d7762_idx"
            ),
        ),
    ]
