model y = clip(a*x, 1)
loss mean((y - Y)^2)
