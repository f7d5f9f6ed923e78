model y = where(x < 0, a*x)
loss mean((y - Y)^2)
