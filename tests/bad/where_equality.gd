# there is no ==
model y = where(x == 0, a, b)
loss mean((y - Y)^2)
