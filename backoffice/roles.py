"""The three staff roles and what each may do.

This mapping is the single source of truth; `sync_roles` writes it to the database's groups and is
called by data migrations (each app's migration calls it again after adding its models), so a fresh
database and an upgraded one end with the same groups.
"""

MODERATORS = "Moderators"
ADMINS = "Admins"
MARKETERS = "Marketers"
ROLE_NAMES = (MODERATORS, ADMINS, MARKETERS)

ADMIN_ACCESS = "wagtailadmin.access_admin"


def _crud(app_label, *models, actions=("add", "change", "delete", "view")):
    return [f"{app_label}.{action}_{model}" for model in models for action in actions]


# The home page's reviews, FAQ and footer: Marketers write them, Admins may too, Moderators never.
LANDING_CONTENT = [*_crud("landing", "review", "faqentry"), "landing.change_footer", "landing.view_footer"]

ROLE_PERMISSIONS = {
    MODERATORS: [
        ADMIN_ACCESS,
        "moderation.view_screenshotproof",
        "moderation.moderate_screenshotproof",
        "moderation.view_download",
        "moderation.view_rewardentry",
        "backoffice.view_user",
    ],
    ADMINS: [
        ADMIN_ACCESS,
        *_crud("backoffice", "user"),  # superusers and other staff's sign-in details: see backoffice.privilege
        *_crud("catalog", "category", "app", "store", "product", "competitor"),
        "catalog.view_productpricechange",
        "catalog.view_competitoroffer",
        *_crud("catalog", "productupload", actions=("add", "view")),
        "moderation.view_screenshotproof",
        "moderation.moderate_screenshotproof",
        "moderation.invalidate_reward",
        "moderation.view_download",
        "moderation.view_rewardentry",
        "moderation.add_rewardentry",
        "growth.view_campaign",
        "growth.view_redemption",
        "growth.void_redemption",
        "growth.view_referral",
        *_crud("django_celery_beat", "periodictask", "intervalschedule", "crontabschedule"),
        *_crud("stores", "salespoint", "client", "competitorstore", "repricingrule", "marketplaceaccount"),
        *_crud("stores", "productstock", actions=("add", "change", "view")),  # stock takes, via stores.orders
        "stores.view_order",
        "stores.change_order",  # status changes, through stores.orders
        "stores.view_competitorlisting",
        "stores.view_repricingdecision",
        "stores.change_repricingdecision",  # accepting suggestions
        "stores.view_repricingrun",
        "reporting.view_dashboard",
        "backoffice.view_taskrun",
        "backoffice.view_delivery",
        "backoffice.retry_delivery",
        "reporting.view_dailylistentry",
        "commerce.view_purchase",
        "commerce.refund_purchase",
        "commerce.view_plan",
        "commerce.view_subscription",
        "integrations.add_integrationclient",
        "integrations.view_integrationclient",
        "integrations.revoke_integrationclient",
        *_crud("integrations", "webhookendpoint"),
        "integrations.view_webhookdelivery",
        "integrations.replay_webhookdelivery",
        *LANDING_CONTENT,
    ],
    MARKETERS: [
        ADMIN_ACCESS,
        *_crud("growth", "campaign"),
        "growth.view_redemption",
        "growth.void_redemption",
        "growth.view_referral",
        "reporting.view_dashboard",
        *_crud("commerce", "plan"),
        "commerce.view_subscription",
        "commerce.view_purchase",
        *LANDING_CONTENT,
    ],
}


def sync_roles(apps, schema_editor=None):
    """Make the role groups hold exactly the listed permissions (those that exist so far)."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, apps=apps, verbosity=0)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    # Wagtail's own migrations create an "Editors" group for its page editor, which this project doesn't use.
    Group.objects.filter(name="Editors", user__isnull=True).delete()
    # ...and grants page, image and document permissions to a "Moderators" group; ours moderate proofs only.
    for model_name in ("GroupPagePermission", "GroupCollectionPermission"):
        apps.get_model("wagtailcore", model_name).objects.filter(group__name__in=ROLE_NAMES).delete()
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            wanted += Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        group.permissions.set(wanted)
