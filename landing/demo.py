"""Demo landing content: reviews (a few left unpublished, as drafts waiting for a Marketer), the FAQ, the footer."""

from django.conf import settings

from .models import FaqEntry, Footer, FooterLink, Review

REVIEWS = [
    ("Anna K.", 5, "Points for my first discount within two days. The screenshot was approved the same evening."),
    ("Marco", 4, "Simple: install, take a screenshot, wait for approval. I wish there were more games in the list."),
    (
        "Priya S.",
        5,
        "The Plus plan pays for itself after a handful of apps. Invited two friends, both bonuses came in.",
    ),
    (
        "Tom W.",
        3,
        "A proof was rejected because the app name was cut off. Fair enough, the second one went through.",
    ),
    ("Lena", 5, "Clear rules and a real person checks the proofs. Redeemed a 15% voucher on my phone in a minute."),
    ("Jonas B.", 4, "Good catalogue of apps and the leaderboard keeps me coming back. The phone check took a minute."),
    ("Kevin", 2, "Points take a while when the queue is long. Draft: waiting for a reply from support.", False),
    ("Sofia R.", 5, "Best loyalty app I have used; buying apps with credits is a nice touch.", False),
]

FAQ = [
    (
        "How do I earn points?",
        "Open an app's page, press “I downloaded this”, install the app and upload a screenshot of it running on "
        "your phone. Once a moderator approves the screenshot, the app's points are added to your balance.",
    ),
    (
        "How are proofs judged?",
        "A moderator looks at every screenshot. It is approved when it clearly shows the app installed and "
        "opened on your own device: the app's name or icon must be visible and the picture must be a real "
        "screenshot, not a photo of another screen or an image from the store page. A screenshot that another "
        "member already sent is refused automatically, and a very similar one is flagged for a closer look.",
    ),
    (
        "What happens if my proof is rejected?",
        f"You get a notification with the moderator's reason. You may send a new screenshot for the same app "
        f"up to {settings.PROOF_MAX_REJECTED_RETRIES} more times. An approved app earns points once; points for "
        "a proof found to break the rules later can be taken back, always with a reason you can see.",
    ),
    (
        "Why do I have to verify my phone number?",
        "One phone number is one account. Earning, referral bonuses and discounts start once your number is "
        "verified with a six-digit code sent by SMS.",
    ),
    (
        "How do I spend my points?",
        "Redeem them for discounts under Discounts, buy apps with them (credits are points), or subscribe to a "
        "plan that multiplies the points of every approved proof.",
    ),
    (
        "How does inviting friends work?",
        "Share your link from the Invite page. When a friend signs up through it and verifies their phone, you "
        "get a bonus once for that friend.",
    ),
]

LINKS = [
    (FooterLink.Kind.LINK, "Apps", "/apps/"),
    (FooterLink.Kind.LINK, "Plans", "/plans/"),
    (FooterLink.Kind.LINK, "Leaderboard", "/leaderboard/"),
    (FooterLink.Kind.SOCIAL, "Telegram", "https://t.me/rewards_example"),
    (FooterLink.Kind.SOCIAL, "Instagram", "https://www.instagram.com/rewards.example/"),
    (FooterLink.Kind.SOCIAL, "YouTube", "https://www.youtube.com/@rewards-example"),
]


def load(out):
    if Review.objects.exists() or FaqEntry.objects.exists():
        out("landing: demo content already loaded")
        return
    Review.objects.bulk_create(
        Review(name=name, rating=rating, text=text, published=rest[0] if rest else True)
        for name, rating, text, *rest in REVIEWS
    )
    FaqEntry.objects.bulk_create(
        FaqEntry(question=question, answer=answer, sort_order=n) for n, (question, answer) in enumerate(FAQ, 1)
    )
    footer = Footer.load()
    if not footer.company:
        footer.company, footer.email = "Rewards Example Ltd", "support@example.com"
        footer.phone, footer.address = "+44 20 7946 0000", "1 Example Street, London EC1A 1AA"
        footer.save()
        FooterLink.objects.bulk_create(
            FooterLink(footer=footer, kind=kind, label=label, url=url, sort_order=n)
            for n, (kind, label, url) in enumerate(LINKS, 1)
        )
    out(f"landing: {len(REVIEWS)} reviews, {len(FAQ)} FAQ entries, the footer")


def summary():
    return f"{Review.objects.filter(published=True).count()} published reviews"
