from django.shortcuts import render

from catalog.selectors import active_apps


def home(request):
    return render(request, "growth/home.html", {"apps": active_apps()[:12]})
