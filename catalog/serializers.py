from rest_framework import serializers

from .models import App, Category


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["slug", "name"]


class AppSerializer(serializers.ModelSerializer):
    category = CategorySerializer(read_only=True)
    subcategory = CategorySerializer(read_only=True, allow_null=True)
    image = serializers.ImageField(read_only=True, use_url=True, allow_null=True)
    thumbnail = serializers.ImageField(read_only=True, use_url=True, allow_null=True)

    class Meta:
        model = App
        fields = [
            "slug",
            "name",
            "category",
            "subcategory",
            "description",
            "image",
            "thumbnail",
            "points_reward",
            "credit_price",
        ]
        read_only_fields = fields
